"""Tiny random-init PRM folders for the PRM tests (no hub): a char tokenizer and Llama heads."""
from __future__ import annotations

import json
from pathlib import Path

CHARS = list("0123456789+-*/=%<>()[]{},.:;?!'\"_#&|^~@$\\ \n") + [chr(c) for c in range(97, 123)] + \
    [chr(c) for c in range(65, 91)]
WORDS = ["<analyze>", "</analyze>", "<verify>", "</verify>", "<output>", "</output>", " Yes", " No", "ки"]


def char_tokenizer():
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {t: i for i, t in enumerate(["<pad>", "<s>", "</s>", "<unk>"] + CHARS)}
    tk = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
    tk.decoder = decoders.Fuse()
    tk.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 1)])
    tk.add_special_tokens([AddedToken(t, special=True) for t in ["<pad>", "<s>", "</s>", "<unk>"]])
    tk.add_tokens([AddedToken(t, normalized=False) for t in WORDS])
    return PreTrainedTokenizerFast(tokenizer_object=tk, bos_token="<s>", eos_token="</s>", pad_token="<pad>",
                                   unk_token="<unk>", clean_up_tokenization_spaces=False, padding_side="right")


def make_prm(folder: Path, style: str, seed: int = 0, descriptor: dict | None = None) -> Path:
    """Save a tiny random model of ``style`` with its tokenizer and ``benchtop_prm.json``."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, LlamaForTokenClassification

    tok = char_tokenizer()
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=1024,
                      pad_token_id=0, bos_token_id=1, eos_token_id=2, num_labels=2)
    torch.manual_seed(seed)
    model = LlamaForTokenClassification(cfg) if style == "token-classification" else LlamaForCausalLM(cfg)
    with torch.no_grad():  # larger random weights so scores spread over (0, 1)
        for p in model.parameters():
            p.mul_(8.0 if p.dim() > 1 else 1.0)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    desc = descriptor or {
        "token-classification": {"style": style, "prefix_template": "Problem: {problem}\n", "step_separator": "\n",
                                 "positive_label": 1},
        "causal-lm-tokens": {"style": style, "prefix_template": "{problem} ", "step_separator": " ки\n",
                             "score_marker": " ки", "positive_token": "+", "negative_token": "-"},
        "generative": {"style": "generative", "samples": 2, "temperature": 1.0, "max_new_tokens": 24},
    }[style]
    (folder / "benchtop_prm.json").write_text(json.dumps(desc), encoding="utf-8")
    return folder
