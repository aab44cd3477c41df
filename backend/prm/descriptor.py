"""How to score with a PRM folder: its ``benchtop_prm.json`` descriptor, or a preset.

Styles (docs/contracts.md):

* ``token-classification``: a 2-label token classifier; p(correct) = softmax(logits)[positive_label]
  at the last token of each step's separator (Qwen2.5-Math-PRM, the zoo's PRM). A 1-logit head
  (value head) is read with a sigmoid.
* ``causal-lm-tokens``: a causal LM; p(correct) = softmax over the logits of ``positive_token`` and
  ``negative_token`` at the separator's last token (Math-Shepherd: "+" / "-" at the "ки" tag).
* ``generative``: a causal LM verifier in GenPRM's shape (``backend.prm.generative``).

``score_marker`` (optional) is the part of the separator whose last token is read, when the
separator continues after it (Math-Shepherd's `` ки\\n``: read at ``ки``). ``final_tail``
(default true) keeps the separator's rest after the last step; ``suffix`` ends the input (Qwen's
``<|im_end|>\\n``); ``step_label`` (``"Step {k}: "``) labels unlabelled steps for PRMs trained on
labelled ones. The whole input is tokenized once (``backend.prm.discriminative``).

A folder without a descriptor is recognised only by an unambiguous sign (a
``*ProcessRewardModel`` architecture, GenPRM's ``</verify>`` token, Math-Shepherd's ``ки`` tag in a
causal LM); anything else is refused with the list of presets, never guessed.
"""
from __future__ import annotations

import json
from pathlib import Path

DESCRIPTOR = "benchtop_prm.json"
STYLES = ("token-classification", "causal-lm-tokens", "generative")

PRESETS: dict[str, dict] = {
    "qwen2.5-math-prm": {
        "style": "token-classification",
        "prefix_template": ("<|im_start|>system\nPlease reason step by step, and put your final answer within "
                            "\\boxed{}.<|im_end|>\n<|im_start|>user\n{problem}<|im_end|>\n<|im_start|>assistant\n"),
        "step_separator": "<extra_0>", "suffix": "<|im_end|>\n", "positive_label": 1, "trust_remote_code": True,
    },
    "math-shepherd": {
        "style": "causal-lm-tokens", "prefix_template": "{problem} ", "step_separator": " ки\n",
        "score_marker": " ки", "final_tail": False, "step_label": "Step {k}: ",
        "positive_token": "+", "negative_token": "-",
    },
    "zoo": {"style": "token-classification", "prefix_template": "Problem: {problem}\n", "step_separator": "\n",
            "positive_label": 1},
    "genprm": {"style": "generative", "samples": 1, "temperature": 0.6, "max_new_tokens": 256,
               "sandbox_timeout": 5.0, "yes_token": " Yes", "no_token": " No", "stop": "</verify>"},
}


def validate(desc: dict, where: str) -> dict:
    """Fill defaults and check fields; errors name ``where`` and the field."""
    if not isinstance(desc, dict):
        raise ValueError(f"{where}: expected a JSON object")
    style = desc.get("style")
    if style not in STYLES:
        raise ValueError(f"{where}: field 'style' must be one of {', '.join(STYLES)}, got {style!r}")
    out = dict(PRESETS["genprm"]) if style == "generative" else {}
    out.update(desc)
    if style != "generative":
        for key in ("prefix_template", "step_separator"):
            if not isinstance(out.get(key), str):
                raise ValueError(f"{where}: field {key!r} must be a string")
        if not out["step_separator"]:
            raise ValueError(f"{where}: field 'step_separator' must not be empty (scores are read at it)")
        if "{problem}" not in out["prefix_template"]:
            raise ValueError(f"{where}: field 'prefix_template' must contain {{problem}}")
        marker = out.get("score_marker")
        if marker is not None and not out["step_separator"].startswith(marker):
            raise ValueError(f"{where}: 'score_marker' {marker!r} must be the start of 'step_separator'")
    if style == "token-classification":
        out.setdefault("positive_label", 1)
    if style == "causal-lm-tokens":
        for key in ("positive_token", "negative_token"):
            if not isinstance(out.get(key), str) or not out[key]:
                raise ValueError(f"{where}: field {key!r} is required for style causal-lm-tokens")
    return out


def read_descriptor(folder: str | Path, preset: str | None = None) -> dict:
    """The folder's descriptor; else the named ``preset``; else a guess from its config.json."""
    folder = Path(folder)
    path = folder / DESCRIPTOR
    if path.is_file():
        try:
            desc = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
        return validate(desc, str(path))
    if preset is not None:
        if preset not in PRESETS:
            raise ValueError(f"unknown PRM preset {preset!r}; known: {', '.join(PRESETS)}")
        return validate(PRESETS[preset], f"preset {preset}")
    guess = _guess(folder)
    if guess is None:
        raise ValueError(f"{folder} has no {DESCRIPTOR} and its format could not be recognised; add a "
                         f"descriptor or pass --preset with one of: {', '.join(PRESETS)}")
    return validate(PRESETS[guess], f"preset {guess} (guessed for {folder})")


def _guess(folder: Path) -> str | None:
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    archs = " ".join(config.get("architectures") or [])
    if "ProcessRewardModel" in archs:
        return "qwen2.5-math-prm"
    tok_text = ""
    for name in ("tokenizer.json", "tokenizer_config.json"):
        p = folder / name
        if p.is_file():
            tok_text += p.read_text(encoding="utf-8", errors="replace")
    if "CausalLM" in archs and "</verify>" in tok_text:
        return "genprm"
    if "CausalLM" in archs and "ки" in tok_text:
        return "math-shepherd"
    return None   # a token classifier or anything else: refused, never guessed
