"""Each job's settings class against the CLI options and the panel fields built from it.

Adding a setting to a ``Params`` class must be the only edit needed for it to appear as a CLI
option and as a panel field. This test builds the real parser and the real panels and checks
both against every class listed in ``CASES``; a ``Params`` subclass defined anywhere in ``backend/``
must be listed. To add a converted job, append a ``Case``: the class, the command that
reaches its subparser, and the panel that shows its form (``None`` where there is none), with
``cli_skip``/``gui_skip`` naming, with a reason, any setting deliberately left out.
"""
from __future__ import annotations

import argparse
import importlib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from backend.cli.params_args import cli_flags
from backend.params import Params


@dataclass(frozen=True)
class Case:
    cls: str                                  # "module:Class"
    command: tuple[str, ...] | None           # argv words that reach the subparser
    panel: str | None                         # "module:PanelClass" whose ParamsForm(s) show the class
    cli_skip: dict[str, str] = field(default_factory=dict)   # setting -> why it is not an option
    gui_skip: dict[str, str] = field(default_factory=dict)   # setting -> why it is not a field
    rename: dict[str, str] = field(default_factory=dict)     # setting -> its CLI flag, when renamed
    panel_start: dict[str, str] = field(default_factory=dict)  # setting -> why the panel starts elsewhere

    def load(self) -> type[Params]:
        mod, name = self.cls.split(":")
        return getattr(importlib.import_module(mod), name)


CASES = [
    Case("backend.merging.params:TSwitchParams", ("tswitch",), None),
    Case("backend.merging.params:MergeRunParams", ("merge",), None),
    Case("backend.merging.params:MergeEvalParams", ("merge-eval",), None),
    Case("backend.merging.params:MergeStudyParams", ("merge-study",), "app.panels.merging:MergingPanel",
         rename={"lam": "--lambda"}),
    Case("backend.merging.params:AutoSwitchParams", None, None),   # the panel's Auto-Switch box (prompt, hard)
    Case("backend.models.params:ZooBuildParams", ("zoo", "build"), "app.panels.home:HomePanel"),
    Case("backend.compression.params:CompressParams", ("compress",), "app.panels.compression:CompressionPanel",
         cli_skip={"evaluate": "the CLI keeps its --no-eval flag (--eval names the eval file)"},
         gui_skip={}, rename={"which": "--tensors"}),
    Case("backend.agents.params:ReplayExportParams", ("replay", "export"), "app.panels.replay:ReplayPanel"),
    Case("backend.equations.settings:FitSettings", ("equations", "fit"), "app.panels.equations:EquationsPanel",
         cli_skip={"custom_terms": "--term, repeatable"},
         gui_skip={"library": "the panel's library builder", "custom_terms": "the panel's term list"},
         rename={"normalize_columns": "--normalize"}),
    Case("backend.equations.settings:FitSettings", ("equations", "discover"), None,
         cli_skip={"custom_terms": "--term, repeatable"}, rename={"normalize_columns": "--normalize"}),
    Case("backend.positions.settings:FopeTrainParams", ("fope", "train"), "app.panels.positions:PositionsPanel",
         gui_skip={"pos": "the panel's variant checkboxes (several at once)",
                   "seed": "the panel's seed list (several at once)"}),
    Case("backend.positions.settings:FopeEvalParams", ("fope", "eval"), None),
    Case("backend.positions.settings:FopeConvertParams", ("fope", "convert"), None),
    Case("backend.generation.prompting:PromptParams", ("tts", "run"), "app.panels.tts:TTSPanel"),
    Case("backend.generation.prompting:PromptParams", ("tts", "sweep"), None),
    Case("backend.tts.params:TTSParams", ("tts", "run"), None, rename={"share_prefix": "--prefix-sharing"}),
    Case("backend.tts.params:TTSRunParams", ("tts", "run"), None, rename={"share_prefix": "--prefix-sharing"}),
    Case("backend.tts.params:TTSSweepParams", ("tts", "sweep"), "app.panels.tts:TTSPanel",
         cli_skip={"n": "a sweep's budgets are --ns"},
         gui_skip={"n": "a sweep's budgets are Budgets N", "strategies": "the panel's strategy checkboxes"},
         rename={"share_prefix": "--prefix-sharing"},
         panel_start={"ns": "a first sweep on a CPU finishes in minutes", "limit": "same: 12 problems"}),
    Case("backend.ttrl.config:TTRLConfig", ("ttrl", "train"), "app.panels.ttrl:TTRLPanel"),
    Case("backend.prm.params:PRMParams", ("prm", "processbench"), None),
    Case("backend.prm.params:PRMScoreParams", ("prm", "score"), "app.panels.prm:PRMPanel"),
    Case("backend.prm.params:ProcessBenchParams", ("prm", "processbench"), "app.panels.prm:PRMPanel"),
    Case("backend.generation.prompting:PromptParams", ("ttrl", "train"), "app.panels.ttrl:TTRLPanel",
         cli_skip={"delimiter": "TTRL rewards whole answers", "stop": "TTRL stops on eos ids only"},
         gui_skip={"delimiter": "TTRL rewards whole answers", "stop": "TTRL stops on eos ids only"}),
    # the panels' Engine boxes (app/widgets/engine_box.py)
    Case("backend.generation.engines.params:EngineParams", ("tts", "run"), None),
    Case("backend.generation.engines.params:EngineParams", ("tts", "sweep"), "app.panels.tts:TTSPanel"),
    Case("backend.generation.engines.params:EngineParams", ("prm", "processbench"), "app.panels.prm:PRMPanel"),
    Case("backend.generation.engines.params:EngineParams", ("prm", "score"), "app.panels.prm:PRMPanel"),
    Case("backend.retrieval.params:IndexParams", ("retrieval", "index"), "app.panels.retrieval:RetrievalPanel"),
    Case("backend.retrieval.params:EvalParams", ("retrieval", "eval"), "app.panels.retrieval:RetrievalPanel"),
    Case("backend.retrieval.params:SearchParams", ("retrieval", "search"), "app.panels.retrieval:RetrievalPanel",
         gui_skip={"query": "the panel's query box"}),
    Case("backend.scale.params:ExecutorParams", ("tts", "sweep"), "app.panels.tts:TTSPanel"),
    Case("backend.scale.params:ExecutorParams", ("tts", "run"), None),
    Case("backend.scale.params:ExecutorParams", ("prm", "processbench"), "app.panels.prm:PRMPanel"),
    Case("backend.scale.params:ExecutorParams", ("merge-eval",), None),
    Case("backend.scale.params:ExecutorParams", ("merge-study",), "app.panels.merging:MergingPanel"),
    Case("backend.scale.params:ExecutorParams", ("ttrl", "train"), "app.panels.ttrl:TTRLPanel"),
    Case("backend.bnn.params:BnnTrainParams", ("bnn", "train"), "app.panels.bnn:BnnPanel",
         gui_skip={"method": "the panel's method checkboxes (several at once)",
                   "seed": "the panel's number of seeds"}),
]


def _subparser(parser: argparse.ArgumentParser, words: tuple[str, ...]) -> argparse.ArgumentParser:
    for word in words:
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = action.choices[word]
    return parser


def _params_classes() -> set[str]:
    """``module:Class`` of every class in ``backend/`` that derives from ``Params`` (found in the
    source, then imported to be sure), wherever its package keeps it."""
    root = Path(__file__).resolve().parents[2]
    found = set()
    for path in sorted((root / "backend").rglob("*.py")):
        if "(Params)" not in path.read_text(encoding="utf-8") or path == root / "backend" / "params.py":
            continue
        mod = ".".join(path.relative_to(root).with_suffix("").parts)
        for name, obj in vars(importlib.import_module(mod)).items():
            if isinstance(obj, type) and issubclass(obj, Params) and obj is not Params and obj.__module__ == mod:
                found.add(f"{mod}:{name}")
    return found


def test_every_params_class_is_checked():
    missing = sorted(_params_classes() - {c.cls for c in CASES})
    assert not missing, f"add a Case for {', '.join(missing)} to {__file__}"


@pytest.mark.parametrize("case", [c for c in CASES if c.command],
                         ids=lambda c: c.cls.split(":")[1] + "-" + "-".join(c.command))
def test_cli_options_are_the_settings(case):
    from backend.cli.parser import build_parser

    cls = case.load()
    sub = _subparser(build_parser(), case.command)
    flags = cli_flags(sub)
    for info in cls.describe():
        if not info.cli or info.name in case.cli_skip:
            continue
        flag = case.rename.get(info.name, info.flag)
        assert flag in flags, f"{case.cls}.{info.name}: no {flag} in `main.py {' '.join(case.command)}`"
        if info.type is bool:
            assert "--no-" + flag[2:] in flags
    # and a job started from the CLI with no option gets exactly the class's defaults
    if not any(a.required for a in sub._actions if a.option_strings):
        assert cls.from_params({}).to_dict() == cls.defaults()


@pytest.mark.parametrize("case", [c for c in CASES if c.panel], ids=lambda c: c.cls.split(":")[1])
def test_panel_fields_are_the_settings(case, qtbot, app_context):
    from app.widgets.params_form import ParamsForm

    cls = case.load()
    mod, name = case.panel.split(":")
    panel = getattr(importlib.import_module(mod), name)(app_context)
    qtbot.addWidget(panel)
    forms = [f for f in panel.findChildren(ParamsForm) if f.cls is cls]
    assert forms, f"{case.panel} shows no ParamsForm of {case.cls}"
    shown = {n for f in forms for n in f.names()}
    for info in cls.describe():
        if info.gui and info.name not in case.gui_skip:
            assert info.name in shown, f"{case.cls}.{info.name} has no field in {case.panel}"
            editor = next(f.editor(info.name) for f in forms if info.name in f.names())
            assert editor.toolTip(), f"{case.cls}.{info.name}: the field has no tooltip"
    # the form's defaults are the class's defaults (nothing typed twice)
    for f in forms:
        defaults = {k: v for k, v in cls.defaults().items() if k in f.names() and k not in case.panel_start}
        assert {k: v for k, v in f.values().items() if k in defaults} == defaults


def test_a_new_setting_needs_one_edit(qtbot):
    """Derive a class with one more setting: the generated CLI and the form both carry it."""
    from dataclasses import dataclass

    from app.widgets.params_form import ParamsForm
    from backend.cli.params_args import add_params_arguments, params_from_args
    from backend.merging.params import TSwitchParams
    from backend.params import param

    @dataclass
    class Extended(TSwitchParams):
        group_size: int = param(64, title="Group size", min=1, help="entries per knob")

    parser = argparse.ArgumentParser()
    add_params_arguments(parser, Extended)
    args = parser.parse_args(["--group-size", "32", "--drop", "0.5"])
    assert Extended.from_params(params_from_args(args, Extended)).group_size == 32
    form = ParamsForm(Extended)
    qtbot.addWidget(form)
    assert "group_size" in form.names() and form.values()["group_size"] == 64
