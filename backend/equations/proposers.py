"""Proposers: who suggests library terms in the propose -> fit -> score -> show loop.

Three implementations of one interface, ``propose(request) -> Proposal``:

* ``ResidualProposer`` — no model: takes the catalogue terms with the largest residual gain
  (see ``catalogue.rank_terms``), so the loop always runs.
* ``OpenAIProposer`` — any OpenAI-compatible ``/chat/completions`` endpoint the user points at
  (a local vLLM/llama.cpp/Ollama server). Plots go along as base64 PNG data URLs; only urllib.
* ``HFProposer`` — a local Hugging Face model folder, vision-language or text-only, loaded
  lazily on first use with transformers.

Models answer in a small JSON shape: ``{"add": [...], "remove": [...], "reason": "..."}``; the
terms are sympy-syntax strings and are validated by the loop before use.
"""
from __future__ import annotations

import base64
import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

SYSTEM_PROMPT = (
    "You are helping discover the governing differential equations of a dynamical system from data. "
    "Each round you see the current candidate library, the fitted equations, scores, plots (states over "
    "time with the model's extrapolation past the training end, phase portrait, derivative residuals "
    "against each state) and a table of catalogue terms ranked by how much residual they would explain. "
    "Propose library terms to add or remove. Write terms in sympy syntax over the state names, e.g. "
    "x*y, x^3, sin(theta). Answer with one JSON object only: "
    '{"add": ["term", ...], "remove": ["term", ...], "reason": "one sentence"}.'
)


@dataclass
class ProposalRequest:
    """What a proposer sees in one round (arrays only for the built-in proposer)."""

    round: int
    names: list[str]
    library_terms: list[str]
    custom_terms: list[str]
    equations: list[str]
    metrics: dict
    ranked: list[dict]
    images: dict[str, str]
    history: list[dict] = field(default_factory=list)
    unused_terms: list[str] = field(default_factory=list)

    def text(self) -> str:
        lines = [f"Round {self.round}. States: {', '.join(self.names)}.",
                 f"Library terms: {', '.join(self.library_terms)}.",
                 f"Custom terms added so far: {', '.join(self.custom_terms) or 'none'}.",
                 "Fitted equations:", *[f"  {e}" for e in self.equations],
                 "Scores: " + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                        for k, v in self.metrics.items()),
                 "Residual analysis (catalogue term | equation | fraction of residual it explains):"]
        lines += [f"  {r['term']} | d{r['equation']}/dt | {r['gain']:.3f}" for r in self.ranked[:10]]
        for h in self.history[-3:]:
            lines.append(f"Earlier round {h['round']}: added {h.get('added')}, extrapolation error "
                         f"{h.get('extrapolation_rel_l2')}")
        return "\n".join(lines)


@dataclass
class Proposal:
    add: list[str]
    remove: list[str] = field(default_factory=list)
    reason: str = ""
    raw: str = ""


def _as_list(v: object) -> list[str]:
    """A JSON value as a list of strings: a list item by item, a lone value as one item, nothing as []."""
    return [str(s) for s in v] if isinstance(v, list) else ([str(v)] if v else [])


def parse_reply(text: str) -> Proposal:
    """The last JSON object in the reply with an ``add`` or ``remove`` key; else ``ADD:`` lines."""
    for m in reversed(list(re.finditer(r"\{[^{}]*\}", text, flags=re.DOTALL))):
        try:
            obj = json.loads(m.group())
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict) and ("add" in obj or "remove" in obj):
            return Proposal(_as_list(obj.get("add")), _as_list(obj.get("remove")), str(obj.get("reason", "")), text)
    adds = [s.strip() for line in text.splitlines() if line.upper().startswith("ADD:")
            for s in line[4:].split(",") if s.strip()]
    return Proposal(adds, [], "no JSON object in the reply" if not adds else "", text)


class Proposer(Protocol):
    """What the discovery loop needs of a proposer (the three below, or a test's stand-in)."""

    name: str

    def propose(self, req: ProposalRequest) -> Proposal: ...


class ResidualProposer:
    """Greedy residual pursuit (no LLM): add the catalogue term that explains most of what is left.

    A term must explain ``min_gain`` of an equation's residual *and* ``min_total`` of that
    derivative's energy, so once the residual is only noise nothing more is added. Custom terms
    the fit zeroed in every equation are removed again."""

    name = "builtin"

    def __init__(self, per_round: int = 1, min_gain: float = 0.05, min_total: float = 1e-4) -> None:
        self.per_round, self.min_gain, self.min_total = per_round, min_gain, min_total

    def propose(self, req: ProposalRequest) -> Proposal:
        """Each equation's ``per_round`` best terms (an equation whose best is already picked for
        another equation adds nothing more this round: one change at a time per equation)."""
        picked: list[str] = []
        per_eq: dict[str, int] = {}
        for r in req.ranked:
            eq = r.get("equation", "")
            if per_eq.get(eq, 0) >= self.per_round:
                continue
            if r["gain"] >= self.min_gain and r.get("gain_of_derivative", 1.0) >= self.min_total:
                if r["term"] not in picked:
                    picked.append(r["term"])
                per_eq[eq] = per_eq.get(eq, 0) + 1
        why = ("; ".join(f"{r['term']} explains {100 * r['gain']:.0f}% of the d{r['equation']}/dt residual"
                         for r in req.ranked if r["term"] in picked) or "no catalogue term explains enough residual")
        unused = [c for c in req.custom_terms if c in req.unused_terms]
        return Proposal(picked, unused, why, json.dumps({"add": picked, "remove": unused, "reason": why}))


def _data_url(path: str) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


class OpenAIProposer:
    """Chat-completions client for a user-configured OpenAI-compatible endpoint."""

    name = "openai"

    def __init__(self, base_url: str, model: str, api_key: str = "", send_images: bool = True,
                 timeout: float = 120.0, max_tokens: int = 400) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"endpoint URL {base_url!r} must start with http:// or https://")
        self.base_url, self.model, self.api_key = base_url.rstrip("/"), model, api_key
        self.send_images, self.timeout, self.max_tokens = send_images, timeout, max_tokens

    def messages(self, req: ProposalRequest) -> list[dict]:
        content: list[dict] = [{"type": "text", "text": req.text()}]
        if self.send_images:
            for name, path in req.images.items():
                content.append({"type": "text", "text": f"Plot: {name}"})
                content.append({"type": "image_url", "image_url": {"url": _data_url(path)}})
        return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": content}]

    def propose(self, req: ProposalRequest) -> Proposal:
        body = json.dumps({"model": self.model, "messages": self.messages(req), "temperature": 0,
                           "max_tokens": self.max_tokens}).encode("utf-8")
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        url = self.base_url + "/chat/completions"
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as resp:
                reply = json.loads(resp.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:300]
            raise RuntimeError(f"endpoint {url} answered HTTP {exc.code}: {detail}") from None
        except (urllib.error.URLError, TimeoutError) as exc:
            raise RuntimeError(f"endpoint {url} unreachable: {exc}") from None
        try:
            text = reply["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise RuntimeError(f"endpoint {url} returned no choices[0].message.content: {str(reply)[:300]}") from None
        if isinstance(text, list):
            text = "".join(part.get("text", "") for part in text if isinstance(part, dict))
        return parse_reply(text or "")


class HFProposer:
    """A local transformers model folder; vision-language if its processor takes images."""

    name = "hf"

    def __init__(self, folder: str, device: str = "cpu", max_new_tokens: int = 300, send_images: bool = True) -> None:
        if not Path(folder, "config.json").is_file():
            raise ValueError(f"{folder}: not a Hugging Face model folder (no config.json)")
        self.folder, self.device, self.max_new_tokens, self.send_images = folder, device, max_new_tokens, send_images
        self._model: Any = None  # loaded on first use
        self._proc: Any = None
        self.vision = False

    def _load(self) -> None:
        import transformers as tf

        cfg = tf.AutoConfig.from_pretrained(self.folder)
        self.vision = self.send_images and hasattr(cfg, "vision_config")
        if self.vision:
            self._proc = tf.AutoProcessor.from_pretrained(self.folder)
            self._model = tf.AutoModelForImageTextToText.from_pretrained(self.folder).to(self.device).eval()
        else:
            self._proc = tf.AutoTokenizer.from_pretrained(self.folder)
            self._model = tf.AutoModelForCausalLM.from_pretrained(self.folder).to(self.device).eval()

    def propose(self, req: ProposalRequest) -> Proposal:
        import torch

        if self._model is None:
            self._load()
        prompt = SYSTEM_PROMPT + "\n\n" + req.text() + "\nJSON:"
        if self.vision:
            from PIL import Image

            images = [Image.open(p).convert("RGB") for p in req.images.values()]
            content = [*({"type": "image"} for _ in images), {"type": "text", "text": prompt}]
            msgs = [{"role": "user", "content": content}]
            text_in = self._proc.apply_chat_template(msgs, add_generation_prompt=True)
            inputs = self._proc(text=text_in, images=images, return_tensors="pt").to(self.device)
        else:   # the shared prompt layer: chat template with a system turn, no second BOS
            from backend.generation.prompting import PromptParams, build_prompt, encode_prompt, resolve

            tok = self._proc
            rp = resolve(tok, PromptParams(system_prompt=SYSTEM_PROMPT, prompt_template="{problem}\nJSON:"))
            ids = encode_prompt(tok, build_prompt(tok, req.text(), rp))
            inputs = {"input_ids": torch.tensor([ids], device=self.device),
                      "attention_mask": torch.ones((1, len(ids)), dtype=torch.long, device=self.device)}
        from backend.generation.prompting import has_chat_template, pad_id, stop_ids

        tok = self._proc if not self.vision else self._proc.tokenizer
        eos = sorted(stop_ids(tok, getattr(self._model, "generation_config", None), has_chat_template(tok)))
        with torch.no_grad():
            out = self._model.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=False,
                                       eos_token_id=eos or None, pad_token_id=pad_id(tok, set(eos)))
        new = out[0, inputs["input_ids"].shape[1]:]
        decoder = self._proc if not self.vision else self._proc.tokenizer
        return parse_reply(decoder.decode(new, skip_special_tokens=True))


def make_proposer(kind: str, **kw) -> ResidualProposer | OpenAIProposer | HFProposer:
    """``builtin`` | ``openai`` (base_url, model, api_key) | ``hf`` (folder)."""
    if kind == "builtin":
        return ResidualProposer(**{k: v for k, v in kw.items() if k in ("per_round", "min_gain", "min_total")})
    if kind == "openai":
        if not kw.get("base_url") or not kw.get("model"):
            raise ValueError("the openai proposer needs base_url and model")
        return OpenAIProposer(kw["base_url"], kw["model"], kw.get("api_key", ""), kw.get("send_images", True))
    if kind == "hf":
        if not kw.get("folder"):
            raise ValueError("the hf proposer needs a model folder")
        return HFProposer(kw["folder"], kw.get("device", "cpu"), send_images=kw.get("send_images", True))
    raise ValueError(f"unknown proposer {kind!r} (builtin, openai, hf)")
