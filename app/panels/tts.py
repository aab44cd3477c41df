"""Test-time scaling panel: sweep strategies over budgets and see which way of spending compute wins.

Left: policy, PRM (a folder, a zoo model or the exact arithmetic reference scorer), problem
file, strategies, and a form bound to ``backend.tts.params.TTSSweepParams`` (budgets N, search
settings; the rarer ones under Advanced) and the prompt settings; Run sweep / Stop below them. Right, three tabs:
  * Curves: accuracy against N (log2 axis) and against generated tokens per problem, one curve
    per strategy (greedy is a single point at N = 1);
  * Difficulty: accuracy per Pass@1 bin at a chosen N, and the compute-optimal table (best
    strategy per bin and N) with a recommendation for a token budget;
  * Drill-down: pick a problem, strategy and N to see the search tree (or the N samples) with
    every step's PRM score and the winning path.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.panels._tts_tree import SearchTreeView, chains_as_tree
from app.panels.base import Panel, name_zero, register_panel, restore_widgets, scrollable
from app.widgets.params_form import ParamsForm
from app.widgets.pickers import ModelPicker, PathPicker
from app.widgets.plots import CurvePlot, GroupedBarChart, accuracy_axis
from app.widgets.prompt_box import PromptBox
from app.widgets.run_controls import RunControls
from app.widgets.tables import DictTable
from backend.generation.prompting import PromptParams
from backend.jobs import JobSpec
from backend.tts.params import TTSSweepParams
from backend.tts.types import STRATEGIES

if TYPE_CHECKING:
    from app.context import AppContext
    from backend.workspace import RunRecord

KINDS = ("tts.sweep", "tts.run")
SWEEP_ONLY_ELSEWHERE = ("n", "strategies")    # a sweep's budgets are ns; strategies are the checkboxes
# where the panel starts instead of the class defaults: a first sweep on a CPU should finish in
# minutes (the CLI and the job default to N up to 16 on every problem)
PANEL_START = {"ns": (1, 2, 4, 8), "limit": 12}
LABELS = {"greedy": "greedy", "majority": "majority vote", "bon": "Best-of-N", "weighted_bon": "weighted BoN",
          "beam": "beam search", "dvts": "DVTS"}
REFERENCE = "reference:arithmetic"


def read_details(path: str | Path) -> dict[tuple[str, int, int], dict]:
    """Per-problem results of a run keyed by (strategy, N, problem index)."""
    from backend.readers import read_tts_details

    return read_tts_details(path)


@register_panel
class TTSPanel(Panel):
    panel_id = "tts"
    title = "Test-time scaling"
    description = "Best-of-N, beam search, DVTS and majority vote under a compute budget"
    kinds = KINDS
    order = 55

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self._active: str | None = None
        self.summary: dict | None = None
        self.details: dict[tuple[str, int, int], dict] = {}
        split = QSplitter(Qt.Orientation.Horizontal)
        column = QWidget()  # the settings scroll; Run sweep / Stop and the status stay in view below them
        cl = QVBoxLayout(column)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.addWidget(scrollable(self._build_setup()), 1)
        cl.addWidget(self.controls)
        split.addWidget(column)
        split.addWidget(self._build_views())
        split.setStretchFactor(1, 1)
        split.setSizes([330, 1000])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(split)

    # -- building ---------------------------------------------------------------------------
    def _build_setup(self) -> QWidget:
        box = QGroupBox("Sweep")
        zoo = self.context.zoo_root()
        self.policy = ModelPicker(zoo, default="zoo:arith-policy", name_filter="policy")
        self.prm = ModelPicker(zoo, default="zoo:arith-genprm", name_filter="prm", extras=(REFERENCE,))
        self.prm.combo.setToolTip("a PRM folder, a zoo PRM, or reference:arithmetic (exact checker for the demo's "
                                  "chain problems: the ceiling a learned PRM could reach)")
        self.data = PathPicker("file", "Problems (*.jsonl *.json)", "problems .jsonl (problem, answer, level)")
        found = sorted((zoo / "data").glob("*.jsonl")) if (zoo / "data").is_dir() else []
        if found:
            self.data.set_value(str(next((f for f in found if "test" in f.name or "problem" in f.name), found[0])))
        self.checks = {}
        grid = QGridLayout()
        for i, s in enumerate(STRATEGIES):
            self.checks[s] = QCheckBox(LABELS[s])
            self.checks[s].setChecked(True)
            grid.addWidget(self.checks[s], i // 2, i % 2)
        # every search setting (default, range, tooltip) comes from TTSSweepParams; the budgets first
        first = ("ns", "thresholds")
        names = [*first, *(i.name for i in TTSSweepParams.describe() if i.name not in first)]
        self.form = ParamsForm(TTSSweepParams, fields=names, exclude=SWEEP_ONLY_ELSEWHERE, parent=self)
        self.form.set_values(PANEL_START)
        name_zero(self.form, {"max_tokens": "auto", "step_tokens": "auto", "limit": "all"})
        self.ns, self.width_, self.steps = (self.form.editor(n) for n in ("ns", "beam_width", "max_steps"))
        self.temp, self.agg, self.limit, self.seed = (self.form.editor(n) for n in ("temperature", "agg", "limit",
                                                                                      "seed"))
        self.controls = RunControls(self.context, start_text="Run sweep")
        self.controls.start_requested.connect(self.start)
        self.controls.set_message("Choose a policy, a PRM and a problem file, then Run sweep.")
        self.run_btn, self.stop_btn = self.controls.start_button, self.controls.stop_button
        self.progress, self.status = self.controls.progress, self.controls.status
        form = QFormLayout()
        form.addRow("Policy", self.policy)
        form.addRow("PRM", self.prm)
        form.addRow("Problems", self.data)
        form.addRow("Strategies", grid)
        self.prompt_box = PromptBox()
        lay = QVBoxLayout(box)
        lay.addLayout(form)
        lay.addWidget(self.form)
        lay.addWidget(self.prompt_box)
        lay.addStretch(1)
        return box

    def _build_views(self) -> QWidget:
        self.tabs = QTabWidget()
        curves = QWidget()
        cl = QVBoxLayout(curves)
        self.acc_plot = CurvePlot("Accuracy vs budget N (log₂ axis)", "N (samples or beams)", "accuracy")
        self.tok_plot = CurvePlot("Accuracy vs generated tokens per problem (log₂ axis)", "tokens per problem",
                                  "accuracy")
        self.budget_table = DictTable()
        cl.addWidget(self.acc_plot, 3)
        cl.addWidget(self.tok_plot, 3)
        cl.addWidget(self.budget_table, 2)
        self.tabs.addTab(curves, "Curves")

        diff = QWidget()
        dl = QVBoxLayout(diff)
        row = QHBoxLayout()
        row.addWidget(QLabel("Budget N"))
        self.diff_n = QComboBox()
        self.diff_n.currentIndexChanged.connect(self._draw_difficulty)
        row.addWidget(self.diff_n)
        row.addStretch(1)
        self.rec_label = QLabel("")
        self.rec_label.setWordWrap(True)
        dl.addLayout(row)
        self.bin_chart = GroupedBarChart("Accuracy per difficulty bin (policy Pass@1)", "accuracy")
        dl.addWidget(self.bin_chart, 3)
        dl.addWidget(QLabel("Compute-optimal strategy per difficulty bin and budget (accuracy, tokens/problem):"))
        self.optimal_table = DictTable()
        dl.addWidget(self.optimal_table, 2)
        dl.addWidget(self.rec_label)
        self.tabs.addTab(diff, "Difficulty")

        drill = QWidget()
        gl = QVBoxLayout(drill)
        pick = QHBoxLayout()
        self.pick_problem = QComboBox()
        self.pick_strategy = QComboBox()
        self.pick_n = QComboBox()
        for w, label in ((self.pick_problem, "Problem"), (self.pick_strategy, "Strategy"), (self.pick_n, "N")):
            pick.addWidget(QLabel(label))
            pick.addWidget(w, 3 if w is self.pick_problem else 1)
            w.currentIndexChanged.connect(self._draw_tree)
        gl.addLayout(pick)
        self.tree_info = QLabel("")
        self.tree_info.setWordWrap(True)
        gl.addWidget(self.tree_info)
        self.tree = SearchTreeView()
        gl.addWidget(self.tree, 4)
        self.cand_table = DictTable()
        gl.addWidget(self.cand_table, 2)
        self.tabs.addTab(drill, "Drill-down")
        return self.tabs

    # -- running ----------------------------------------------------------------------------
    def spec(self) -> JobSpec:
        """The JobSpec the current controls describe (raises ValueError on bad input)."""
        strategies = [s for s in STRATEGIES if self.checks[s].isChecked()]
        if not strategies:
            raise ValueError("choose at least one strategy")
        if not self.policy.value() or not self.data.value():
            raise ValueError("choose a policy and a problem file")
        values = {**self.form.values(), "strategies": strategies}
        settings = TTSSweepParams.from_params(values)     # a bad setting is refused here, naming it
        inputs = {"policy": self.policy.value(), "data": self.data.value()}
        if self.prm.value():
            inputs["prm"] = self.prm.value()
        params = {k: v for k, v in settings.to_dict().items() if k in values}
        params["ns"] = sorted(set(params["ns"]))
        params.update(self.prompt_box.changes())
        return JobSpec("tts.sweep", params=params, inputs=inputs, label=f"tts sweep N≤{params['ns'][-1]}")

    def start(self) -> str | None:
        self._active = self.submit_tracked(self.controls, self.spec)  # progress, elapsed, ETA, stop, failures
        return self._active

    def stop(self) -> None:
        self.controls.stop()

    def restore_settings(self, run: RunRecord) -> None:
        """A run opened from the history puts its settings back (absent ones were the defaults)."""
        p = dict(run.spec.params)
        strategies = p.get("strategies") or ([p["strategy"]] if p.get("strategy") else None)
        if strategies:                     # a tts.run is one strategy at one N
            for name, box in self.checks.items():
                box.setChecked(name in strategies)
        if p.get("n") is not None and "ns" not in p:
            p["ns"] = [p["n"]]
        self.form.set_values({**TTSSweepParams.defaults(), **{k: v for k, v in p.items() if v is not None}})
        self.prompt_box.set_values({**PromptParams.defaults(), **p})
        restore_widgets({"policy": self.policy, "prm": self.prm, "data": self.data}, run.spec.inputs)

    # -- drawing ----------------------------------------------------------------------------
    def show_run(self, run: RunRecord) -> None:
        result = run.result or {}
        if run.kind == "tts.run":          # one strategy at one N: show it as a one-point sweep
            result = {"strategies": [result["strategy"]], "ns": [result["n"]], "bins": [], "compute_optimal": [],
                      "problems": [], "details_file": result.get("details_file"),
                      "runs": {result["strategy"]: {str(result["n"]): result}}}
        self.summary = result
        self.details = read_details(result.get("details_file", ""))
        self._draw_curves()
        ns = [str(n) for n in result.get("ns", [])]
        for combo, items in ((self.diff_n, ns), (self.pick_n, ns),
                             (self.pick_strategy, list(result.get("runs", {})))):
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(items)
            combo.blockSignals(False)
        self.diff_n.setCurrentIndex(len(ns) - 1)
        self.pick_n.setCurrentIndex(len(ns) - 1)
        if "beam" in result.get("runs", {}):
            self.pick_strategy.setCurrentText("beam")
        self.pick_problem.blockSignals(True)
        self.pick_problem.clear()
        for p in result.get("problems", []):
            self.pick_problem.addItem(f"#{p['index']}  {p['problem']}  (answer {p['answer']}, Pass@1 {p['pass1']:.2f})",
                                      p["index"])
        if not result.get("problems"):
            for idx in sorted({k[2] for k in self.details}):
                self.pick_problem.addItem(f"#{idx}", idx)
        self.pick_problem.blockSignals(False)
        self._draw_difficulty()
        self._draw_tree()
        self.controls.report(f"Showing run {run.id}.")

    def _draw_curves(self) -> None:
        s = self.summary or {}
        self.acc_plot.clear_curves()
        self.tok_plot.clear_curves()
        rows = []
        for strat, by_n in s.get("runs", {}).items():
            pts = sorted((int(n), e) for n, e in by_n.items() if e.get("accuracy") is not None)
            if not pts:
                continue
            name = LABELS.get(strat, strat)
            counts = [sum(c is not None for c in e.get("correct", [])) for _, e in pts]
            n_arg = counts if all(counts) else None  # Wilson 95 % bars from the problems scored
            self.acc_plot.set_curve(name, [math.log2(n) for n, _ in pts], [e["accuracy"] for _, e in pts], n=n_arg)
            self.tok_plot.set_curve(name, [math.log2(max(1.0, e["tokens"])) for _, e in pts],
                                    [e["accuracy"] for _, e in pts], n=n_arg)
            for n, e in pts:
                rows.append({"strategy": name, "N": n, "accuracy": e["accuracy"], "tokens/problem": e["tokens"],
                             "PRM calls/problem": e["prm_calls"], "samples/problem": e["samples"]})
        ns = [int(n) for n in s.get("ns", [])]
        self.acc_plot.getAxis("bottom").setTicks([[(math.log2(n), str(n)) for n in ns]])
        toks = sorted({e["tokens"] for by_n in s.get("runs", {}).values() for e in by_n.values() if e.get("tokens")})
        if toks:
            lo, hi = int(math.floor(math.log2(max(1, toks[0])))), int(math.ceil(math.log2(max(1, toks[-1]))))
            self.tok_plot.getAxis("bottom").setTicks([[(k, str(2 ** k)) for k in range(lo, hi + 1)]])
        for plot in (self.acc_plot, self.tok_plot):
            accuracy_axis(plot, len(s.get("problems") or []) or None)
        self.budget_table.set_rows(rows)

    def _draw_difficulty(self) -> None:
        s = self.summary or {}
        n = self.diff_n.currentText()
        bins = s.get("bins", [])
        if not n or not bins:
            self.bin_chart.set_data([], {})
            self.optimal_table.set_rows([])
            return
        cats = [f"{b}\n{s['bin_counts'].get(b, 0)} problems" for b in bins]
        series = {}
        for strat, by_n in s["runs"].items():
            e = by_n.get(n) or (by_n.get("1") if strat == "greedy" else None)
            if e:
                series[LABELS.get(strat, strat) + (" (N=1)" if strat == "greedy" else "")] = [
                    (e["per_bin"][b]["accuracy"] or 0.0) for b in bins]
        self.bin_chart.set_data(cats, series)
        accuracy_axis(self.bin_chart)
        self.bin_chart.setYRange(0, 1.02)
        table: dict[str, dict] = {}
        for r in s.get("compute_optimal", []):
            table.setdefault(r["bin"], {"bin": r["bin"]})[f"N={r['n']}"] = (
                f"{LABELS.get(r['strategy'], r['strategy'])} ({r['accuracy']:.2f}, {r['tokens']:.0f} tok)")
        self.optimal_table.set_rows(list(table.values()))
        from backend.tts.sweep import recommend  # numpy only; no torch

        budget = max((e["tokens"] for by_n in s["runs"].values() for k, e in by_n.items() if k == n), default=0.0)
        rec = recommend(s, budget)
        self.rec_label.setText("" if rec is None else (
            f"For up to {budget:.0f} generated tokens per problem (the costliest strategy at N={n}), the most accurate "
            f"choice measured is {LABELS.get(rec['strategy'], rec['strategy'])} at N={rec['n']}: accuracy "
            f"{rec['accuracy']:.3f} with {rec['tokens']:.0f} tokens and {rec['prm_calls']:.0f} PRM calls per problem. "
            f"Bins use Pass@1 measured on these same problems."))

    def _draw_tree(self) -> None:
        if not self.details or self.pick_problem.currentIndex() < 0:
            self.tree.set_tree([], None)
            return
        strat, n, idx = self.pick_strategy.currentText(), self.pick_n.currentText(), self.pick_problem.currentData()
        d = self.details.get((strat, int(n) if n else 0, idx)) or (
            self.details.get((strat, 1, idx)) if strat == "greedy" else None)
        if d is None:
            self.tree.set_tree([], None)
            self.tree_info.setText(f"{LABELS.get(strat, strat)} was not run at N={n}.")
            self.cand_table.set_rows([])
            return
        cands = d["candidates"]
        win = d.get("winner")
        if d.get("tree"):
            nodes, win_node = d["tree"], (cands[win]["node"] if win is not None else None)
        else:
            nodes = chains_as_tree(cands)
            last = {nd["candidate"]: nd["id"] for nd in nodes}
            win_node = last.get(win)
        problem = next((p for p in (self.summary or {}).get("problems", []) if p["index"] == idx), {})
        self.tree.set_tree(nodes, win_node, f"Problem: {problem.get('problem', idx)}")
        b = d["budget"]
        verdict = {True: "correct", False: "wrong", None: "no reference"}[d.get("correct")]
        self.tree_info.setText(
            f"{LABELS.get(strat, strat)}, N={d['n']}: chose <b>{d.get('answer')}</b> ({verdict}; reference "
            f"{problem.get('answer', '?')}). Spent {b['tokens']} tokens, {b['samples']} samples, {b['prm_calls']} PRM "
            f"calls. Blue: winning path; colour: PRM score (red 0 → green 1); faded: pruned; dashed: truncated.")
        self.cand_table.set_rows([{"#": i, "won": "★" if i == win else "", "answer": c.get("answer"),
                                   "score": c.get("score"), "steps": " | ".join(c.get("steps", [])),
                                   "step scores": " ".join(f"{x:.2f}" for x in (c.get("scores") or [])),
                                   "tokens": c.get("tokens")} for i, c in enumerate(cands)])
