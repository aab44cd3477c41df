"""``replay.export`` job: the HTML export run off the GUI thread (large runs embed many images).

Inputs: ``run`` (run folder), optional ``tasks`` (task JSON folder). Params: ``out`` (report
path; default ``<run_dir>/replay.html``), ``images`` (embed|copy|none).
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from backend.jobs.registry import register_job

if TYPE_CHECKING:
    from backend.jobs import JobContext, JobSpec


@register_job("replay.export", title="Agent replay: export HTML report")
def export_job(spec: JobSpec, ctx: JobContext) -> dict:
    from backend.agents.aggregate import aggregate
    from backend.agents.params import ReplayExportParams
    from backend.agents.reader import open_run
    from backend.agents.report import export_html

    if not spec.inputs.get("run"):
        raise ValueError("replay.export needs the input 'run' (a run folder)")
    # the report path is an input; older records kept it among the params
    p = ReplayExportParams.from_params({k: v for k, v in spec.params.items() if k != "out"})
    ctx.progress(0.05, "reading the run")
    run = open_run(spec.inputs["run"], spec.inputs.get("tasks"))
    ctx.check_cancelled()
    out = Path(spec.inputs.get("out") or spec.params.get("out") or Path(ctx.run_dir) / "replay.html")
    ctx.progress(0.2, f"writing {out.name}")
    export_html(run, out, images=p.images)
    ctx.artifact("report", out)
    agg = aggregate(run)
    ctx.progress(1.0, "done")
    return {"report": str(out), "run": str(run.path), "overall": agg["overall"]}
