"""A tiny random-init Llama policy with a character tokenizer, built offline in a second.

For tests and smoke runs where no real policy is at hand (there is no model hub here). The
alphabet covers the arithmetic demo's text format, so even an untrained model emits digits
and the answer extractor finds something to vote on.
"""
from __future__ import annotations

from pathlib import Path

ALPHABET = list("0123456789+-*/=.: \nABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz()")
SPECIALS = ["<pad>", "<s>", "</s>", "<unk>"]


def char_tokenizer():
    """A PreTrainedTokenizerFast that maps every character to one id (BOS added, no EOS)."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {t: i for i, t in enumerate(SPECIALS + ALPHABET)}
    tk = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
    tk.decoder = decoders.Fuse()
    tk.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", vocab["<s>"])])
    return PreTrainedTokenizerFast(tokenizer_object=tk, bos_token="<s>", eos_token="</s>", pad_token="<pad>",
                                   unk_token="<unk>")


def build_tiny_policy(dest: str | Path, seed: int = 0, hidden: int = 32, layers: int = 2) -> Path:
    """Write a random-init LlamaForCausalLM + char tokenizer to ``dest`` (an HF folder)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tok = char_tokenizer()
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(tok), hidden_size=hidden, intermediate_size=2 * hidden,
                         num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=4,
                         max_position_embeddings=256, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                         pad_token_id=tok.pad_token_id, tie_word_embeddings=False)
    model = LlamaForCausalLM(config)
    dest = Path(dest)
    model.save_pretrained(dest)
    tok.save_pretrained(dest)
    return dest
