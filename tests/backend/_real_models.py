"""Realistic stand-ins for real checkpoints, built in the test (no hub), seconds on a CPU.

* :func:`qwen_tokenizer`: a byte-level BPE trained with ``tokenizers`` (ByteLevel pre-tokenizer,
  as Qwen2/GPT-2), Qwen's special tokens (``<|endoftext|>`` eos/pad, ``<|im_start|>``,
  ``<|im_end|>``, ``<extra_0>``) and a Qwen-style Jinja chat template. Its eos is the document
  end, as in Qwen2.5-Math base tokenizers: a chat turn ends with ``<|im_end|>``, which only
  ``generation_config.eos_token_id`` names.
* :func:`make_chat_policy`: a Qwen2ForCausalLM with tied embeddings trained in the test to answer
  ``What is a plus b?`` with ``... The answer is \\boxed{c}.<|im_end|>`` through the chat template.
* :func:`sp_tokenizer`: a sentencepiece-style BPE (Metaspace ``▁``, ``<s>`` bos, no pad token),
  as Llama/Mistral/Math-Shepherd; :func:`make_llama` saves a Llama with it as bf16 shards.
* :func:`make_math_shepherd` / :func:`make_qwen_prm`: PRMs in those two models' formats.
"""
from __future__ import annotations

import json
from pathlib import Path

CHAT_TEMPLATE = ("{%- for message in messages %}{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + "
                 "'<|im_end|>' + '\\n' }}{%- endfor %}{%- if add_generation_prompt %}"
                 "{{- '<|im_start|>assistant\\n' }}{%- endif %}")
QWEN_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<extra_0>"]
WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def problem(a: int, b: int) -> tuple[str, str, str]:
    """(problem, answer, the chat policy's response: two steps separated by a blank line)."""
    c = a + b
    return (f"What is {a} plus {b}?", str(c),
            f"We add {a} and {b} to get {c}.\n\nThe answer is \\boxed{{{c}}}.")


def _corpus() -> list[str]:
    lines = [problem(a, b)[0] + " " + problem(a, b)[2] for a in range(10) for b in range(10)]
    lines += ["Step 1: Janet has 16 eggs. ки\nStep 2: She eats 3, so 16 - 3 = 13 left. ки\nThe answer is: 13 ки",
              "Please reason step by step, and put your final answer within \\boxed{}.", "+ - + - yes no"]
    lines += [" ".join(WORDS), "ABCDEFGHIJKLMNOPQRSTUVWXYZ abcdefghijklmnopqrstuvwxyz 0123456789 ?!.,:;()[]{}=<>*/\\_$"]
    return lines * 3


def qwen_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tk.decoder = decoders.ByteLevel()
    tk.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(vocab_size=420, special_tokens=QWEN_SPECIALS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tk.train_from_iterator(_corpus(), trainer)
    tok = PreTrainedTokenizerFast(tokenizer_object=tk, eos_token="<|endoftext|>", pad_token="<|endoftext|>",
                                  additional_special_tokens=["<|im_start|>", "<|im_end|>", "<extra_0>"],
                                  clean_up_tokenization_spaces=False)
    tok.chat_template = CHAT_TEMPLATE
    return tok


def sp_tokenizer():
    """Sentencepiece-style: Metaspace pre-tokenizer (``▁`` for spaces, one prepended), ``<s>`` added
    in front, ``</s>`` eos, and NO pad token (Llama, Mistral)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tk = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=False))
    tk.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Split("\n", behavior="isolated"),
                                                pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first")])
    tk.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="first")
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<unk>", "<s>", "</s>"], show_progress=False)
    tk.train_from_iterator(_corpus(), trainer)
    tk.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", tk.token_to_id("<s>"))])
    return PreTrainedTokenizerFast(tokenizer_object=tk, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                                   clean_up_tokenization_spaces=False)


def _qwen_config(tok, **kw):
    from transformers import Qwen2Config

    return Qwen2Config(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                       num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                       tie_word_embeddings=True, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
                       bos_token_id=None, **kw)


TRAIN_PAIRS = [(1, 2), (3, 4), (5, 1), (2, 6), (4, 4), (6, 3)]


def make_chat_policy(folder: Path, steps: int = 200, seed: int = 0) -> Path:
    """Train a tiny Qwen2 chat policy to answer the :data:`TRAIN_PAIRS` sums through the chat
    template (a few seconds on one thread); saved with a generation_config whose eos ids are
    ``<|im_end|>`` and ``<|endoftext|>``."""
    import torch
    from transformers import AutoTokenizer, GenerationConfig, Qwen2ForCausalLM

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    folder.mkdir(parents=True, exist_ok=True)
    tok = qwen_tokenizer()
    tok.save_pretrained(folder)
    _qwen_config(tok).save_pretrained(folder)
    tok = AutoTokenizer.from_pretrained(folder)   # as users load it (Qwen2Tokenizer: digits split)
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(_qwen_config(tok))
    im_end = tok.convert_tokens_to_ids("<|im_end|>")
    seqs = []
    for a, b in TRAIN_PAIRS:
        if True:
            q, _, resp = problem(a, b)
            prompt = tok.apply_chat_template([{"role": "user", "content": q}], tokenize=False,
                                             add_generation_prompt=True)
            p_ids = tok(prompt)["input_ids"]
            r_ids = tok(resp)["input_ids"] + [im_end]
            seqs.append((p_ids + r_ids, len(p_ids)))
    width = max(len(s) for s, _ in seqs)
    ids = torch.full((len(seqs), width), tok.pad_token_id)
    labels = torch.full((len(seqs), width), -100)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, (s, p) in enumerate(seqs):
        ids[i, :len(s)] = torch.tensor(s)
        labels[i, p:len(s)] = torch.tensor(s[p:])
        mask[i, :len(s)] = 1
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(steps):
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    torch.set_num_threads(threads)
    model.generation_config = GenerationConfig(eos_token_id=[im_end, tok.eos_token_id], pad_token_id=tok.pad_token_id)
    model.save_pretrained(folder)
    return folder


def write_problems(path: Path, pairs: list[tuple[int, int]], key: str = "problem") -> Path:
    path.write_text("".join(json.dumps({key: problem(a, b)[0], "answer": problem(a, b)[1], "level": 1}) + "\n"
                            for a, b in pairs), encoding="utf-8")
    return path


def make_llama(folder: Path, seed: int = 0, dtype: str = "bfloat16", tok=None, shard: str = "40KB",
               perturb: float = 0.0) -> Path:
    """A Llama with the sentencepiece-style tokenizer (no pad), saved as ``dtype`` safetensors shards."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tok = tok or sp_tokenizer()
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=512,
                      bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, tie_word_embeddings=False)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(cfg)
    if perturb:
        with torch.no_grad():
            for p in model.parameters():
                p.add_(perturb * torch.randn_like(p))
    model = model.to(getattr(torch, dtype))
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, max_shard_size=shard)
    tok.save_pretrained(folder)
    return folder


def make_math_shepherd(folder: Path, seed: int = 0) -> Path:
    """A causal LM in Math-Shepherd's shape (sentencepiece tokenizer, ``ки`` tag, ``+``/``-``),
    saved WITHOUT a descriptor: it is recognised by its ``ки`` tag (or ``--preset math-shepherd``)."""
    import torch

    make_llama(folder, seed=seed, dtype="float32", shard="10MB")
    from transformers import LlamaForCausalLM

    model = LlamaForCausalLM.from_pretrained(folder)
    with torch.no_grad():   # larger weights so the scores spread over (0, 1)
        for p in model.parameters():
            p.mul_(6.0 if p.dim() > 1 else 1.0)
    model.save_pretrained(folder)
    return folder


def make_qwen_prm(folder: Path, seed: int = 0) -> Path:
    """A 2-label token classifier on the Qwen-style tokenizer, with the qwen2.5-math-prm preset's
    format in its descriptor (the real model's remote-code class is replaced by the stock one)."""
    import torch
    from transformers import Qwen2ForTokenClassification

    from backend.prm.descriptor import PRESETS

    tok = qwen_tokenizer()
    torch.manual_seed(seed)
    model = Qwen2ForTokenClassification(_qwen_config(tok, num_labels=2))
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(6.0 if p.dim() > 1 else 1.0)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    desc = {**PRESETS["qwen2.5-math-prm"], "trust_remote_code": False}
    (folder / "benchtop_prm.json").write_text(json.dumps(desc), encoding="utf-8")
    return folder
