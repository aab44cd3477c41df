"""PRM step scores against the model cards' own recipes, on the test stand-ins (docs/checkpoints.md).

    python bench/prm_model_cards.py

Prints the card's scores, Benchtop's difference from them, and (Math-Shepherd) the difference
the previous per-segment, unlabelled encoding had: the baseline, measured in the same run.
"""
# ruff: noqa: E401, E402, E501, E701, E702
import sys, tempfile
from pathlib import Path
ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "backend")]
import torch
torch.set_num_threads(1)
from _real_models import make_math_shepherd, make_qwen_prm
from transformers import AutoModelForCausalLM, AutoTokenizer, AutoModelForTokenClassification
from backend.prm import load_prm
from backend.prm.steps import split_steps
d = Path(tempfile.mkdtemp())
Q = "Janet has 16 eggs. She eats 3. How many are left?"
S = "Step 1: Janet has 16 eggs. ки\nStep 2: She eats 3, so 16 - 3 = 13 left. ки\nStep 3: The answer is: 13 ки"
f = make_math_shepherd(d/"ms"); tok = AutoTokenizer.from_pretrained(f); m = AutoModelForCausalLM.from_pretrained(f)
c = tok.encode("+ -")[1:]; tag = tok.encode("ки")[-1]; ids = torch.tensor([tok.encode(f"{Q} {S}")])
with torch.no_grad(): card = m(ids).logits[:, :, c].softmax(-1)[:, :, 0][ids == tag].tolist()
prm = load_prm(f, "cpu", dtype="float32")
ours = prm.score(Q, split_steps(S, "auto"))
print("math-shepherd card", [round(x, 6) for x in card], "max diff", max(abs(a-b) for a, b in zip(card, ours)))
# the old encoding: segments tokenized separately, no labels
pre = tok(Q + " ")["input_ids"]; old = list(pre); at = []
for s in split_steps(S, "auto"):
    s = s.replace("ки", " ").strip()
    old += tok(s + " ки", add_special_tokens=False)["input_ids"]; at.append(len(old)-1); old += tok("\n", add_special_tokens=False)["input_ids"]
with torch.no_grad(): lo = m(torch.tensor([old])).logits[0][:, [prm.pos_id, prm.neg_id]].softmax(-1)[:, 0]
print("old per-segment, unlabelled", [round(float(lo[i]), 6) for i in at], "max diff", max(abs(float(lo[i]) - b) for i, b in zip(at, card)))
f = make_qwen_prm(d/"q"); tok = AutoTokenizer.from_pretrained(f); m = AutoModelForTokenClassification.from_pretrained(f)
steps = ["To find the total, add 3 and 4.", "3 + 4 = 7.", "The answer is \\boxed{7}."]
msgs = [{"role": "system", "content": "Please reason step by step, and put your final answer within \\boxed{}."}, {"role": "user", "content": "What is 3 plus 4?"}, {"role": "assistant", "content": "<extra_0>".join(steps) + "<extra_0>"}]
ids = torch.tensor([tok.encode(tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=False))])
with torch.no_grad(): card = m(ids).logits.softmax(-1)[..., 1][ids == tok.convert_tokens_to_ids("<extra_0>")].tolist()
ours = load_prm(f, "cpu", dtype="float32").score("What is 3 plus 4?", steps)
print("qwen-prm card", [round(x, 6) for x in card], "max diff", max(abs(a-b) for a, b in zip(card, ours)))
