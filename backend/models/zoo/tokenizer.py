"""The zoo's character-level tokenizer, saved as an ordinary Hugging Face tokenizer folder.

Every character is one token, so the tiny models see digits one at a time (no BPE merges that
hide carries) and any text in the zoo's formats round-trips exactly through
``AutoTokenizer.from_pretrained``. A few whole-word tokens are added on top: the GenPRM tags
(so a verifier can stop on ``</verify>``) and `` Yes`` / `` No`` (so the verdict's first token
differs between the two words, as the GenPRM scoring contract requires).
"""
from __future__ import annotations

from pathlib import Path

SPECIALS = ["<pad>", "<s>", "</s>", "<unk>"]
CHARS = list("0123456789+-*/=%<>()[]{},.:;?!'\"_#&|^~@$\\` \n\t")
CHARS += [chr(c) for c in range(ord("a"), ord("z") + 1)] + [chr(c) for c in range(ord("A"), ord("Z") + 1)]
WORD_TOKENS = ["<analyze>", "</analyze>", "<verify>", "</verify>", "<output>", "</output>", " Yes", " No"]


def vocab() -> dict[str, int]:
    """Token -> id: specials first (pad 0, bos 1, eos 2, unk 3), then one id per character."""
    return {t: i for i, t in enumerate(SPECIALS + CHARS)}


def build_tokenizer():
    """A ``PreTrainedTokenizerFast``: char-level WordLevel model, BOS prepended, no EOS added.

    EOS is appended by the training code at the end of each target, so generation learns to stop.
    ``clean_up_tokenization_spaces`` is off: decoding must give back the exact text.
    """
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    v = vocab()
    tk = Tokenizer(models.WordLevel(vocab=v, unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
    tk.decoder = decoders.Fuse()
    tk.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A $B", special_tokens=[("<s>", v["<s>"])])
    tk.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIALS])
    tk.add_tokens([AddedToken(t, normalized=False, single_word=False, lstrip=False, rstrip=False)
                   for t in WORD_TOKENS])
    tok = PreTrainedTokenizerFast(
        tokenizer_object=tk, bos_token="<s>", eos_token="</s>", pad_token="<pad>", unk_token="<unk>",
        clean_up_tokenization_spaces=False, model_max_length=1024, padding_side="right")
    return tok


def save_tokenizer(tok, folder: str | Path) -> None:
    """Write tokenizer.json, tokenizer_config.json and special_tokens_map.json into ``folder``."""
    import json

    folder = Path(folder)
    tok.save_pretrained(folder)
    smap = {"bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>"}
    (folder / "special_tokens_map.json").write_text(json.dumps(smap, indent=2) + "\n", encoding="utf-8")
