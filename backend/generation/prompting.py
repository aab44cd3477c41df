"""One prompt layer for every generating job (TTS, TTRL, GenPRM, merge-eval, compress --eval,
the equations' hf proposer): how a problem becomes the text a policy continues, when it stops,
and how its output splits into steps.

Why one module: a chat policy that answers through the API must answer the same through the CLI
and the panels, so the chat template, the system prompt, the template substitution, the stop ids
and the step delimiter are decided here once, from :class:`PromptParams` (the settings every
job offers) and the tokenizer. Torch-free; the tokenizer is any Hugging Face tokenizer.

Profiles decide the defaults: ``chat`` (the tokenizer has a chat template and it is used),
``base`` (a real tokenizer without one) and ``zoo`` (the demo zoo's character tokenizer, whose
defaults are the historical ones: ``Problem: {problem}\\n``, steps on ``\\n``, 96/32 tokens).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backend.params import Params, param

ZOO_TEMPLATE = "Problem: {problem}\n"
LIMITS = {"zoo": (96, 32), "base": (2048, 512), "chat": (2048, 512)}   # (answer, step) tokens
DELIMITERS = {"zoo": "\n", "base": "\n\n", "chat": "\n\n"}
# End-of-turn tokens of common chat formats: a chat model ends its answer with one of these even
# when its tokenizer's eos is the document end (Qwen2.5-Math base: <|endoftext|> vs <|im_end|>).
END_OF_TURN = ("<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>")


def unescape(text: str) -> str:
    r"""``\n``, ``\t``, ``\r`` and ``\\`` typed on a command line or in a form become the characters
    (only these, so non-ASCII text and other backslashes are left alone)."""
    out, i = [], 0
    table = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\"}
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text) and text[i + 1] in table:
            out.append(table[text[i + 1]])
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def render_template(template: str, problem: str) -> str:
    """``template`` with every ``{problem}`` replaced; other braces (``\\boxed{}``) are left alone
    (``str.format`` would raise on them)."""
    return template.replace("{problem}", str(problem))


@dataclass
class PromptParams(Params):
    """How problems are put to a policy, when it stops and how its answer splits into steps."""

    label = "prompt setting"
    chat_template: bool = param(True, title="Use chat template",
                                help="wrap the problem in the tokenizer's chat template when it has one")
    system_prompt: str = param("", title="System prompt", multiline=True,
                               help="system message (chat) or a first line (no chat template)")
    prompt_template: str = param("", title="Prompt template", multiline=True,
                                 help="text with {problem}; other braces are kept as typed. Empty: the problem "
                                      "alone in a chat turn, 'Problem: {problem}\\n' without a chat template")
    delimiter: str = param("auto", title="Step delimiter",
                           help="text that ends a reasoning step (\\n\\n, \\n, ...); auto: \\n\\n for real "
                                "models, \\n for the demo zoo")
    stop: tuple[str, ...] = param((), title="Stop strings", advanced=True,
                                  help="extra strings that end an answer (comma separated; \\n escapes allowed)")

    def check(self) -> None:
        if self.prompt_template and "{problem}" not in self.prompt_template:
            self.fail("prompt_template", "must contain {problem}")
        if self.delimiter != "auto" and not unescape(self.delimiter):
            self.fail("delimiter", "must not be empty")


PROMPT_KEYS = tuple(i.name for i in PromptParams.describe())


def split_prompt_params(params: dict) -> tuple[PromptParams, dict]:
    """The prompt settings of a job's params and the rest."""
    mine = {k: v for k, v in params.items() if k in PROMPT_KEYS}
    rest = {k: v for k, v in params.items() if k not in PROMPT_KEYS}
    return PromptParams.from_params(mine), rest


def has_chat_template(tokenizer: Any) -> bool:
    return bool(getattr(tokenizer, "chat_template", None))


def profile(tokenizer: Any, spec: PromptParams | None = None) -> str:
    """``chat``, ``base`` or ``zoo`` (see the module docstring)."""
    spec = spec or PromptParams()
    if spec.chat_template and has_chat_template(tokenizer):
        return "chat"
    return "zoo" if is_char_level(tokenizer) else "base"


def is_char_level(tokenizer: Any) -> bool:
    """Whether every ordinary token is one character (the demo zoo's tokenizer; real ones merge)."""
    specials = set(getattr(tokenizer, "all_special_tokens", []) or [])
    specials |= {str(t) for t in (getattr(tokenizer, "added_tokens_decoder", {}) or {}).values()}
    return all(len(t) <= 1 for t in tokenizer.get_vocab() if t not in specials)


@dataclass
class ResolvedPrompt:
    """The concrete prompt settings of one run (what is recorded with it)."""

    profile: str
    chat_template: bool
    system_prompt: str
    prompt_template: str
    delimiter: str
    stop: tuple[str, ...]
    max_tokens: int
    step_tokens: int

    def to_dict(self) -> dict:
        return {"profile": self.profile, "chat_template": self.chat_template, "system_prompt": self.system_prompt,
                "prompt_template": self.prompt_template, "delimiter": self.delimiter, "stop": list(self.stop),
                "max_tokens": self.max_tokens, "step_tokens": self.step_tokens}


def resolve(tokenizer: Any, spec: PromptParams | None = None, max_tokens: int = 0,
            step_tokens: int = 0) -> ResolvedPrompt:
    """Concrete settings for ``tokenizer``: ``auto``/empty/0 replaced by the profile's defaults."""
    spec = (spec or PromptParams()).validate()
    prof = profile(tokenizer, spec)
    chat = prof == "chat"
    template = spec.prompt_template or ("{problem}" if chat else ZOO_TEMPLATE)
    delim = DELIMITERS[prof] if spec.delimiter == "auto" else unescape(spec.delimiter)
    answer, step = LIMITS[prof]
    return ResolvedPrompt(prof, chat, unescape(spec.system_prompt), unescape(template), delim,
                          tuple(unescape(s) for s in spec.stop if s), int(max_tokens or answer),
                          int(step_tokens or step))


def build_prompt(tokenizer: Any, problem: str, rp: ResolvedPrompt) -> str:
    """The text the policy continues: the chat template with a generation prompt (system message
    first when given), or the system prompt's line followed by the rendered template."""
    user = render_template(rp.prompt_template, problem)
    if rp.chat_template:
        messages = ([{"role": "system", "content": rp.system_prompt}] if rp.system_prompt else []) + \
            [{"role": "user", "content": user}]
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return (rp.system_prompt + "\n" if rp.system_prompt else "") + user


def encode_prompt(tokenizer: Any, text: str) -> list[int]:
    """Token ids of a prompt; a text that already starts with the BOS token (chat templates write
    it) gets no second one."""
    bos = getattr(tokenizer, "bos_token", None)
    add = not (bos and text.startswith(bos))
    return list(tokenizer(text, add_special_tokens=add)["input_ids"])


def _ids(value: Any) -> list[int]:
    if value is None:
        return []
    if isinstance(value, (list, tuple, set)):
        return [int(v) for v in value if v is not None]
    return [int(value)]


def stop_ids(tokenizer: Any, generation_config: Any = None, chat: bool = False) -> set[int]:
    """Every id that ends an answer: the tokenizer's eos, every id of ``generation_config``'s
    ``eos_token_id`` (an int or a list), and for chat prompts the end-of-turn tokens the
    tokenizer has as special tokens (``<|im_end|>``, ``<|eot_id|>``, ...)."""
    ids = set(_ids(getattr(tokenizer, "eos_token_id", None)))
    ids |= set(_ids(getattr(generation_config, "eos_token_id", None)))
    if chat:
        specials = set(getattr(tokenizer, "all_special_tokens", []) or [])
        specials |= {str(t) for t in (getattr(tokenizer, "added_tokens_decoder", {}) or {}).values()}
        for t in END_OF_TURN:
            if t in specials:
                i = tokenizer.convert_tokens_to_ids(t)
                if isinstance(i, int) and i != getattr(tokenizer, "unk_token_id", None):
                    ids.add(i)
    return ids


def pad_id(tokenizer: Any, eos: set[int] | None = None) -> int:
    """The pad id, falling back to the eos (Llama and Mistral tokenizers have no pad token)."""
    if getattr(tokenizer, "pad_token_id", None) is not None:
        return int(tokenizer.pad_token_id)
    if getattr(tokenizer, "eos_token_id", None) is not None:
        return int(tokenizer.eos_token_id)
    return min(eos) if eos else 0


def cut_at_stop(text: str, stops: tuple[str, ...] | list[str]) -> tuple[str, bool]:
    """``text`` up to and including the first stop string, and whether one was found."""
    best = -1
    for s in stops:
        i = text.find(s)
        if i >= 0 and (best < 0 or i + len(s) < best):
            best = i + len(s)
    return (text, False) if best < 0 else (text[:best], True)
