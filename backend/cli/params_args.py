"""argparse options generated from a :class:`~backend.params.Params` class.

Defaults are not applied by argparse: an option the user did not type is absent from the
JobSpec, so the job's own default (the dataclass field) is the only one. The help text shows it.
"""
from __future__ import annotations

import argparse
from collections.abc import Iterable
from typing import Any

from backend.params import ParamInfo, Params


def _help(info: ParamInfo) -> str:
    parts = [info.help or info.title]
    rng = info.describe_range() if info.choices is None else ""
    if rng:
        parts.append(f"({rng})")
    default = ",".join(str(v) for v in info.default) if info.type is tuple else info.default
    if default != "" and default is not None:
        parts.append(f"[default: {default!r}]" if info.type is str else f"[default: {default}]")
    return " ".join(parts).replace("%", "%%")


def _converter(cls: type[Params], info: ParamInfo):
    def convert(text: str) -> Any:
        try:
            return cls.coerce(info.name, text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = info.type.__name__  # argparse names the type in its error message
    return convert


def add_params_arguments(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    cls: type[Params],
    *,
    exclude: Iterable[str] = (),
    only: Iterable[str] | None = None,
    rename: dict[str, str] | None = None,
    required: Iterable[str] = (),
) -> list[ParamInfo]:
    """Add one ``--kebab-name`` option per CLI setting of ``cls``; returns the settings added.

    ``rename`` maps a setting to another flag (``{"drop": "--drop-rate"}``); ``required`` makes
    options mandatory (for settings a command cannot run without).
    """
    skip, keep = set(exclude), (set(only) if only is not None else None)
    rename, need = rename or {}, set(required)
    added = []
    for info in cls.describe():
        if not info.cli or info.name in skip or (keep is not None and info.name not in keep):
            continue
        flag = rename.get(info.name, info.flag)
        kwargs: dict[str, Any] = {"dest": info.name, "default": None, "help": _help(info)}
        if info.name in need:
            kwargs["required"] = True
        if info.type is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            kwargs["type"] = _converter(cls, info)
            if info.choices is not None and info.type is not tuple:
                kwargs["choices"] = info.choices
                kwargs["metavar"] = "{" + ",".join(str(c) for c in info.choices) + "}"
            else:
                kwargs["metavar"] = info.name.upper()
        parser.add_argument(flag, **kwargs)
        added.append(info)
    return added


def params_from_args(args: argparse.Namespace, cls: type[Params], *, exclude: Iterable[str] = ()) -> dict[str, Any]:
    """The settings of ``cls`` the user gave on the command line (absent ones are left out)."""
    skip = set(exclude)
    out = {}
    for info in cls.describe():
        if info.name in skip or not info.cli:
            continue
        value = getattr(args, info.name, None)
        if value is not None:
            out[info.name] = list(value) if isinstance(value, tuple) else value
    return out


# a command's settings groups besides its own class: ("module:Class", argument-group title, fields left out);
# by name, so a CLI imports a group's module only when the parser is built
SettingsGroups = tuple[tuple[str, str, tuple[str, ...]], ...]


def group_classes(groups: SettingsGroups) -> list[tuple[type[Params], str, tuple[str, ...]]]:
    """The groups' classes, imported."""
    import importlib

    out = []
    for ref, title, exclude in groups:
        mod, name = ref.split(":")
        out.append((getattr(importlib.import_module(mod), name), title, exclude))
    return out


def add_group_arguments(parser: argparse.ArgumentParser, groups: SettingsGroups) -> None:
    """One argument group of generated options per settings group."""
    for cls, title, skip in group_classes(groups):
        add_params_arguments(parser.add_argument_group(title), cls, exclude=skip)


def params_from_groups(args: argparse.Namespace, groups: SettingsGroups) -> dict[str, Any]:
    """The settings of every group the user gave, flat as the jobs read them."""
    out: dict[str, Any] = {}
    for cls, _title, skip in group_classes(groups):
        out.update(params_from_args(args, cls, exclude=skip))
    return out


def cli_flags(parser: argparse.ArgumentParser) -> set[str]:
    """Every long option of ``parser`` (for tests that compare a CLI with its settings class)."""
    return {opt for action in parser._actions for opt in action.option_strings if opt.startswith("--")}
