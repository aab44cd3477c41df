"""TTRL acceptance bench: does a short CPU run raise pass@1 on the unlabeled prompts?

    python bench/ttrl.py [--policy zoo:arith-policy] [--prompts FILE] [--eval FILE]
                         [--out DIR] [--budget-min 15] [--steps 500] [--png docs/ttrl_bench.png]

Trains on the zoo's unlabeled prompt set (labels are never read for training) and measures,
on the labelled copy of the *same* problems, pass@1 (mean over ``eval_n`` samples at the
evaluation temperature) and maj@N before and after. The whole run, evaluations included,
stops within ``--budget-min`` minutes: training is stopped early (through the same cancel
path as the GUI's stop button, which writes a checkpoint) when the budget nears its end, and
the last checkpoint is evaluated. Prints the figures, writes the curves as a PNG and the
numbers as JSON next to it. Exit status 0 when pass@1 rose by >= 10 points and maj@N did not
fall, else 1.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backend.jobs.context import JobCancelled  # noqa: E402
from backend.ttrl.config import TTRLConfig  # noqa: E402
from backend.ttrl.trainer import NullContext, evaluate_policy, train  # noqa: E402


class BudgetContext(NullContext):
    """Prints progress; asks the trainer to stop once ``deadline`` (monotonic seconds) passes."""

    def __init__(self, deadline: float) -> None:
        super().__init__(verbose=False)
        self.deadline = deadline
        self.start = time.monotonic()
        self._pending: int | None = None

    def log(self, line: str) -> None:
        print(f"[{time.monotonic() - self.start:6.0f}s] {line}", flush=True)

    def metric(self, name, value, step=None) -> None:
        # a step's metrics arrive one by one (reward first, optimizer stats and label accuracy
        # after), so its line is printed when the next step's first metric (or an eval) arrives
        if step is not None and self._pending is not None and (step != self._pending or name.startswith("eval/")):
            self._print_step(self._pending)
            self._pending = None
        super().metric(name, value, step)
        if name == "reward_mean":
            self._pending = step

    def _print_step(self, step: int) -> None:
        m = {k: v[-1][1] for k, v in self.metrics.items() if v and v[-1][0] == step}
        extra = f"  label_acc {m['label_accuracy']:.2f}" if "label_accuracy" in m else ""
        print(f"[{time.monotonic() - self.start:6.0f}s] step {step}: majority_ratio {m['majority_ratio']:.3f}  "
              f"reward {m['reward_mean']:.3f}  loss {m.get('loss', 0):+.4f}  kl {m.get('kl', 0):.4f}{extra}",
              flush=True)

    def check_cancelled(self) -> None:
        if time.monotonic() > self.deadline:
            raise JobCancelled()


def zoo_files() -> tuple[str, str]:
    """(unlabeled prompts, labelled copy of the same problems) from the demo zoo's data folder
    (``$BENCHTOP_ZOO`` when set, else the workspace's demo zoo)."""
    from backend.models.zoo import zoo_data_path

    try:
        return str(zoo_data_path("ttrl_unlabeled")), str(zoo_data_path("ttrl_labeled"))
    except FileNotFoundError as e:
        raise FileNotFoundError(f"{e}; or pass --prompts and --eval") from None


def plot(metrics: dict, final: dict, final_step: int, png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for name in ("eval/pass@1", "eval/maj@N"):
        pts = list(metrics.get(name, []))
        if final and final_step not in [s for s, _ in pts]:
            pts.append((final_step, final[name[5:]]))
        if pts:
            axes[0].plot([s for s, _ in pts], [v for _, v in pts], marker="o", label=name[5:])
    axes[0].set(title="Evaluation on the prompt set (labels for monitoring only)", xlabel="step", ylabel="accuracy",
                ylim=(0, 1))
    for name in ("majority_ratio", "reward_mean", "label_accuracy", "train_pass@1"):
        pts = metrics.get(name, [])
        if pts:
            axes[1].plot([s for s, _ in pts], [v for _, v in pts], label=name)
    axes[1].set(title="Training rollouts", xlabel="step", ylim=(0, 1))
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    tmp = png.with_name(f".{png.name}.tmp.png")
    fig.savefig(tmp, dpi=110)
    os.replace(tmp, png)


def screenshot(policy: str, prompts: str, labelled: str, png: Path, steps_before: int = 30) -> None:
    """Open the window offscreen on the TTRL panel, start a run on the panel's defaults, grab it
    mid-run to ``png`` (after ``steps_before`` steps: past the first evaluation after step 0)."""
    import tempfile

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from app.application import create_context, make_app
    from app.main_window import MainWindow
    from app.theme import apply_theme

    app = make_app()
    app.setProperty("benchtop_no_dialogs", True)
    ctx = create_context(tempfile.mkdtemp(prefix="ttrl-shot-"), settings_file=os.path.join(tempfile.mkdtemp(), "s.ini"))
    apply_theme(app, "light")
    w = MainWindow(ctx, probe_devices=False)
    w.resize(1500, 900)
    w.show()
    panel = w.show_panel("ttrl")
    panel.policy.set_value(policy)
    panel.prompts.set_value(prompts)
    panel.labelled.set_value(labelled)
    ctx.set_device_getter(lambda: "cpu")
    run_id = panel.start()

    def ready() -> bool:
        return len(panel._series.get("reward_mean", [])) >= steps_before and bool(panel.groups_table.rowCount())

    from _common import grab_when

    grab_when(app, w, ready, png)
    panel.stop()
    ctx.runner.cancel(run_id)
    ctx.runner.shutdown(timeout=60)
    print(f"screenshot: {png}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--screenshot", metavar="PNG", help="only render the panel mid-run to PNG and exit")
    ap.add_argument("--policy", default="zoo:arith-policy")
    ap.add_argument("--prompts")
    ap.add_argument("--eval")
    ap.add_argument("--out", default=None, help="output folder (default: a fresh one under /tmp)")
    ap.add_argument("--budget-min", type=float, default=15.0)
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--png", default=str(ROOT / "docs" / "ttrl_bench.png"))
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="any TTRLConfig field")
    args = ap.parse_args()
    t0 = time.monotonic()
    prompts, labelled = (args.prompts, args.eval) if args.prompts and args.eval else zoo_files()
    if args.screenshot:
        screenshot(args.policy, prompts, labelled, Path(args.screenshot))
        return 0
    params = {"steps": args.steps, "prompts_per_step": 8, "n_votes": 16, "n_train": 16, "lr": 5e-5,
              "eval_every": 50, "eval_n": 8, "eval_temperature": 1.0, "eval_top_p": 1.0, "checkpoint_every": 10}
    params.update(dict(kv.split("=", 1) for kv in args.set))
    cfg = TTRLConfig.from_params(params)
    out = Path(args.out or f"/tmp/ttrl-bench-{int(time.time())}")
    print(f"policy {args.policy}\nprompts {prompts}\nmonitoring labels {labelled}\nout {out}\nconfig {cfg.to_dict()}",
          flush=True)
    # the deadline leaves room for the final evaluation (timed on the first one below)
    ctx = BudgetContext(deadline=t0 + 60 * args.budget_min)
    ctx_start = time.monotonic()
    eval_seconds = []

    orig_metric = ctx.metric

    def metric(name, value, step=None):
        if name == "eval/pass@1" and step == 0:
            eval_seconds.append(time.monotonic() - ctx_start)
            ctx.deadline = t0 + 60 * args.budget_min - 1.5 * eval_seconds[0] - 20
        orig_metric(name, value, step)

    ctx.metric = metric
    stopped = False
    try:
        result = train(args.policy, prompts, out, cfg, eval_path=labelled, ctx=ctx)
        final_step, final = result["steps"], result["eval_end"]
    except JobCancelled:
        stopped = True
        from backend.ttrl.checkpoint import latest_checkpoint
        from backend.ttrl.data import load_labelled
        from backend.ttrl.trainer import _load

        final_step, ckpt = latest_checkpoint(out)
        print(f"budget reached: evaluating checkpoint {ckpt}", flush=True)
        model, tok = _load(ckpt, cfg.dtype, "cpu")
        problems = load_labelled(labelled)
        problems = problems[: cfg.eval_limit] if cfg.eval_limit else problems
        final = evaluate_policy(model, tok, problems, cfg, "cpu")
    start = {k[5:]: v[0][1] for k, v in ctx.metrics.items() if k.startswith("eval/") and v and v[0][0] == 0}
    wall = time.monotonic() - t0
    d_pass, d_maj = final["pass@1"] - start["pass@1"], final["maj@N"] - start["maj@N"]
    ok = d_pass >= 0.10 and d_maj >= 0 and wall <= 60 * args.budget_min
    summary = {"policy": args.policy, "prompts": prompts, "steps": final_step, "stopped_by_budget": stopped,
               "wall_seconds": round(wall, 1), "pass@1_start": start["pass@1"], "pass@1_end": final["pass@1"],
               "maj@N_start": start["maj@N"], "maj@N_end": final["maj@N"], "eval_n": cfg.eval_n,
               "eval_temperature": cfg.eval_temperature, "config": cfg.to_dict(), "accepted": ok, "out": str(out)}
    png = Path(args.png)
    plot(ctx.metrics, final, final_step, png)
    from backend.workspace.atomic import atomic_write_json

    atomic_write_json(png.with_suffix(".json"), summary)
    print(f"\nsteps {final_step} in {wall / 60:.1f} min ({'stopped by budget' if stopped else 'completed'})")
    print(f"pass@1  {start['pass@1']:.3f} -> {final['pass@1']:.3f}  ({100 * d_pass:+.1f} points)")
    print(f"maj@{cfg.eval_n}  {start['maj@N']:.3f} -> {final['maj@N']:.3f}  ({100 * d_maj:+.1f} points)")
    print(f"curves: {png}\nsummary: {png.with_suffix('.json')}\nACCEPTED: {ok}")
    return 0 if ok else 1


if __name__ == "__main__":
    from _common import run

    run(main)
