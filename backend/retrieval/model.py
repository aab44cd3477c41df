"""The retriever's model: loading any HF causal LM, the prompt, and identifier token sequences.

The prompt is ``"Query: <text>\\nDocument:"``; the identifier's tokens follow directly (as ids,
not re-tokenised text, so BPE tokenisers cannot merge across the boundary) and end with EOS.
``scratch`` makes a fresh small Llama with the zoo's character tokenizer (no zoo needed).
"""
from __future__ import annotations

from pathlib import Path

PROMPT = "Query: {query}\nDocument:"
SCRATCH = "scratch"


def resolve(name: str) -> str:
    """A model folder path for ``zoo:NAME``/a folder, or ``scratch`` as given."""
    if name == SCRATCH:
        return name
    from backend.models.zoo import resolve_model

    return str(resolve_model(name))


def load(name: str, hidden: int = 96, layers: int = 2, seed: int = 0):
    """``(model, tokenizer)``; ``scratch`` builds a random-init Llama of the given size."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if name == SCRATCH:
        from transformers import LlamaConfig, LlamaForCausalLM

        from backend.models.zoo.tokenizer import build_tokenizer

        tok = build_tokenizer()
        torch.manual_seed(seed)
        cfg = LlamaConfig(vocab_size=len(tok), hidden_size=hidden, intermediate_size=2 * hidden,
                          num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=4,
                          max_position_embeddings=512, bos_token_id=tok.bos_token_id,
                          eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, tie_word_embeddings=False)
        return LlamaForCausalLM(cfg), tok
    folder = resolve(name)
    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    if tok.eos_token_id is None:
        raise ValueError(f"{folder}: the tokenizer has no EOS token, which ends every identifier")
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    return model, tok


def max_positions(model) -> int:
    return int(getattr(model.config, "max_position_embeddings", 2048) or 2048)


def prompt_ids(tok, query: str, max_tokens: int) -> list[int]:
    """Token ids of the prompt (with the tokenizer's BOS if it adds one), the query cut to fit."""
    ids = tok(PROMPT.format(query=query), add_special_tokens=True)["input_ids"]
    if len(ids) > max_tokens:
        tail = tok("\nDocument:", add_special_tokens=False)["input_ids"]
        ids = ids[: max_tokens - len(tail)] + tail
    return ids


def identifier_ids(tok, identifier: str) -> list[int]:
    """The tokens a beam must emit for ``identifier``: a leading space, the text, then EOS."""
    return tok(" " + identifier, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]


def save(model, tok, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    tok.save_pretrained(folder)
