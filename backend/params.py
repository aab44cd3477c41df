"""One description of a job's settings, read by the job, the CLI and the panel.

A job kind's settings are a dataclass deriving from :class:`Params` whose fields are declared
with :func:`param`. The field's metadata (title, help, range, choices) is the single place a
default or a limit is written: ``backend/cli/params_args.py`` turns it into argparse options and
``app/widgets/params_form.py`` into a bound form, so adding a setting is one edit.

Kept free of torch and Qt so that building the CLI parser stays instant.
"""
from __future__ import annotations

import builtins
import math
import typing
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any, ClassVar


@dataclass(frozen=True)
class ParamInfo:
    """What the CLI and the panel need to know about one setting."""

    name: str
    type: type                      # int, float, bool, str or tuple
    item_type: builtins.type | None  # element type of a tuple field (`type` above is the field)
    default: Any
    title: str
    help: str = ""
    min: float | None = None
    max: float | None = None
    min_exclusive: bool = False
    choices: tuple[Any, ...] | None = None
    log: bool = False               # a scale-free quantity (learning rate): the panel shows it in e-notation
    step: float | None = None
    decimals: int | None = None
    advanced: bool = False          # the panel puts it in a collapsed "Advanced" group
    cli: bool = True                # offered as a CLI option
    gui: bool = True                # shown in the panel's form
    multiline: bool = False         # a long text (a prompt template): the panel uses a text box

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def describe_range(self) -> str:
        if self.choices is not None:
            return "one of " + ", ".join(str(c) for c in self.choices)
        lo = "" if self.min is None else (f"> {self.min:g}" if self.min_exclusive else f">= {self.min:g}")
        hi = "" if self.max is None else f"<= {self.max:g}"
        return " and ".join(p for p in (lo, hi) if p)


def param(
    default: Any,
    *,
    title: str,
    help: str = "",
    min: float | None = None,
    max: float | None = None,
    min_exclusive: bool = False,
    choices: tuple[Any, ...] | list[Any] | None = None,
    log: bool = False,
    step: float | None = None,
    decimals: int | None = None,
    advanced: bool = False,
    cli: bool = True,
    gui: bool = True,
    multiline: bool = False,
) -> Any:
    """A dataclass field carrying the metadata of one setting (see :class:`ParamInfo`)."""
    meta = {"title": title, "help": help, "min": min, "max": max, "min_exclusive": min_exclusive,
            "choices": tuple(choices) if choices is not None else None, "log": log, "step": step,
            "decimals": decimals, "advanced": advanced, "cli": cli, "gui": gui, "multiline": multiline}
    if isinstance(default, (list, dict, set)):
        raise TypeError("use a tuple for a sequence default (settings are immutable values)")
    return field(default=default, metadata={"param": meta})


def _field_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _split_type(hint: Any) -> tuple[type, type | None]:
    """``int`` -> (int, None); ``tuple[int, ...]`` -> (tuple, int); ``str | None`` -> (str, None)."""
    origin = typing.get_origin(hint)
    if origin is tuple:
        args = [a for a in typing.get_args(hint) if a is not Ellipsis]
        return tuple, (args[0] if args else str)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return _split_type(args[0])
    if hint in (int, float, bool, str):
        return hint, None
    raise TypeError(f"unsupported setting type {hint!r} (use int, float, bool, str or tuple[...])")


def _coerce_scalar(value: Any, typ: type, name: str) -> Any:
    if typ is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in ("true", "yes", "1", "on", "false", "no", "0", "off"):
            return value.strip().lower() in ("true", "yes", "1", "on")
        raise ValueError(f"{name}={value!r}: expected true or false")
    if typ is int:
        if isinstance(value, bool):
            raise ValueError(f"{name}={value!r}: expected a whole number")
        if isinstance(value, float):
            if not value.is_integer():
                raise ValueError(f"{name}={value!r}: expected a whole number")
            return int(value)
        try:
            return int(str(value).strip())
        except ValueError:
            raise ValueError(f"{name}={value!r}: expected a whole number") from None
    if typ is float:
        if isinstance(value, bool):
            raise ValueError(f"{name}={value!r}: expected a number")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{name}={value!r}: expected a number") from None
    if typ is str:
        if not isinstance(value, str):
            raise ValueError(f"{name}={value!r}: expected text")
        return value
    raise TypeError(typ)


@dataclass
class Params:
    """Base of every job's settings. Subclasses are dataclasses whose fields use :func:`param`.

    ``check()`` is the hook for rules that involve several fields.
    """

    label: ClassVar[str] = ""      # what the settings are of, used in messages ("TTRL setting ...")

    # -- description --------------------------------------------------------------------------
    @classmethod
    def describe(cls) -> list[ParamInfo]:
        hints = _field_types(cls)
        out = []
        for f in fields(cls):
            meta = f.metadata.get("param")
            if meta is None:
                raise TypeError(f"{cls.__name__}.{f.name} is not declared with param()")
            typ, item = _split_type(hints[f.name])
            default = f.default if f.default is not MISSING else f.default_factory()  # type: ignore[misc,operator]
            out.append(ParamInfo(name=f.name, type=typ, item_type=item, default=default, **meta))
        return out

    @classmethod
    def info(cls, name: str) -> ParamInfo:
        for i in cls.describe():
            if i.name == name:
                return i
        raise KeyError(name)

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        return cls().to_dict()

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def coerce(cls, name: str, value: Any) -> Any:
        """``value`` converted to the type of setting ``name`` (strings from a CLI or a form)."""
        info = cls.info(name)
        what = f"{cls._what()} {info.name}"
        if info.type is tuple:
            item = info.item_type or str
            if isinstance(value, str):
                parts = [p.strip() for p in value.split(",") if p.strip()]
            elif isinstance(value, (list, tuple)):
                parts = list(value)
            else:
                raise ValueError(f"{what}={value!r}: expected a comma-separated list")
            return tuple(_coerce_scalar(p, item, what) for p in parts)
        return _coerce_scalar(value, info.type, what)

    @classmethod
    def from_params(cls, params: dict[str, Any] | None) -> typing.Self:
        """Settings from a JobSpec's params: unknown keys are an error (a typo must not be ignored)."""
        params = dict(params or {})
        known = {i.name for i in cls.describe()}
        unknown = sorted(set(params) - known)
        if unknown:
            raise ValueError(f"unknown {cls._what()}(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        values = {k: cls.coerce(k, v) for k, v in params.items()}
        return cls(**values).validate()

    # -- checks -------------------------------------------------------------------------------
    def validate(self) -> typing.Self:
        """Every range, choice and finiteness rule of the metadata, then :meth:`check`."""
        for info in self.describe():
            value = getattr(self, info.name)
            items = value if info.type is tuple else (value,)
            for v in items:
                self._check_value(info, v, value)
        self.check()
        return self

    def check(self) -> None:
        """Rules that involve several fields; raise ValueError naming the setting."""

    def fail(self, name: str, why: str) -> None:
        """Raise the standard message for setting ``name``."""
        info = self.info(name)
        raise ValueError(f"{info.title} ({self._what()} {name}={getattr(self, name)!r}): {why}")

    def _check_value(self, info: ParamInfo, v: Any, whole: Any) -> None:
        def bad(why: str) -> None:
            raise ValueError(f"{info.title} ({self._what()} {info.name}={whole!r}): {why}")

        if isinstance(v, float) and not math.isfinite(v):
            bad("must be a finite number")
        if info.choices is not None and v not in info.choices:
            bad("must be " + info.describe_range())
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            if info.min is not None and (v < info.min or (info.min_exclusive and v == info.min)):
                bad("must be " + info.describe_range())
            if info.max is not None and v > info.max:
                bad("must be " + info.describe_range())

    # -- output -------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    def changed(self) -> dict[str, Any]:
        """Only the settings that differ from their defaults (what a run label should show)."""
        base = type(self)().to_dict()
        return {k: v for k, v in self.to_dict().items() if base.get(k) != v}

    @classmethod
    def _what(cls) -> str:
        return f"{cls.label} setting" if cls.label else "setting"


def split_params(params: dict[str, Any] | None, *classes: type[Params]) -> list[Params]:
    """A job's flat params read by several settings groups (the job's own class first, then e.g.
    ``PromptParams``): each group takes the keys it declares, the first one also every key no group
    declares (so a typo is reported by the job's class). ``None`` values mean the default.

    The one place a job splits its params, so another group (an executor's, an engine's) is one
    more class in the call.
    """
    values = {k: v for k, v in (params or {}).items() if v is not None}
    claimed: set[str] = set()
    parts: list[dict[str, Any]] = []
    for cls in classes:
        names = {i.name for i in cls.describe()}
        mine = {k: v for k, v in values.items() if k in names and k not in claimed}
        claimed |= set(mine)
        parts.append(mine)
    parts[0].update({k: v for k, v in values.items() if k not in claimed})
    return [cls.from_params(part) for cls, part in zip(classes, parts)]
