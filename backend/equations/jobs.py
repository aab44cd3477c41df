"""Jobs: ``equations.fit``, ``equations.discover`` (proposer loop) and ``equations.system``.

Every output goes into one folder written atomically (``params.out`` or ``<run>/equations``):
``model.json`` (library, coefficients, sympy and LaTeX), ``summary.json``, ``series.npz``
(time, states used, derivatives, the extrapolation), and PNG plots. Inputs are only read.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from backend.jobs import register_job

if TYPE_CHECKING:
    from backend.jobs import JobContext, JobSpec


def _out_dir(spec: JobSpec, ctx: JobContext) -> Path:
    return Path(spec.params.get("out") or spec.inputs.get("out") or ctx.path("equations"))


def _load(spec: JobSpec, ctx: JobContext) -> tuple:
    """The trajectory to fit: a data file, or a built-in system simulated now; coordinates
    found first for high-dimensional data. Returns (t, x, names, truth, info, frames)."""
    from backend.equations import coords, data, systems

    p = spec.params
    truth, frames = p.get("truth"), None
    if spec.inputs.get("data"):
        ds = data.load_data(spec.inputs["data"], p.get("time_column"), p.get("sample_rate"))
        t, x, names, frames = ds.t, ds.x, ds.names, ds.frames
    elif p.get("system") == "pendulum_video":
        v = systems.pendulum_video(noise=float(p.get("noise", 0.0)), seed=int(p.get("seed", 0)))
        t, frames = v["t"], v["frames"]
        x, names, truth = frames.reshape(len(t), -1), [], truth or v["truth"]
    elif p.get("system"):
        t, x, names = systems.simulate(p["system"], float(p.get("noise", 0.0)), int(p.get("seed", 0)))
        truth = truth or systems.SYSTEMS[p["system"]].truth
    else:
        raise ValueError("equations job needs inputs.data (a file) or params.system (a built-in system)")
    info: dict = {}
    method = p.get("coords") or ("track" if frames is not None else "none")
    if method != "none":
        ctx.progress(0.05, f"finding coordinates ({method})")

        def ae_progress(epoch: int, row: dict) -> None:
            ctx.check_cancelled()
            ctx.metric("autoencoder/loss", row["loss"], epoch)

        x, names, info = coords.coordinates(x, t, method, int(p.get("n_coords", 2)), frames, ctx.device,
                                            int(p.get("seed", 0)), int(p.get("epochs", 1500)), ae_progress)
        info = {"coords": method, **{k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in info.items()}}
        if names != ["theta", "omega"]:
            truth = None
    elif x.shape[1] > 12:
        raise ValueError(f"{spec.inputs.get('data')}: {x.shape[1]} columns is high-dimensional; choose coordinates "
                         "first (coords=pca, track or autoencoder)")
    return t, x, names, truth, info, frames


def _write_common(out: Path, fit, frames) -> dict:
    from backend.equations import prompts
    from backend.workspace.atomic import atomic_write_json

    names = fit.model.names
    start = fit.n_train - 1
    fitted = fit.model.rhs(fit.x[: fit.n_train])
    np.savez(out / "series.npz", t=fit.t, x=fit.x, dx=fit.dx, fitted=fitted, n_train=fit.n_train,
             prediction=fit.prediction, prediction_t=fit.t[start: start + len(fit.prediction)], names=np.array(names))
    images = prompts.render_round(out / "plots", fit.t, fit.x, names, fit.n_train, fit.dx, fitted, fit.prediction)
    if frames is not None:
        images["frames"] = str(prompts.frames_grid(out / "plots" / "frames.png", frames))
    atomic_write_json(out / "model.json", fit.model.to_dict())
    return images


@register_job("equations.fit", title="Equation discovery: sparse regression fit")
def fit_job(spec: JobSpec, ctx: JobContext) -> dict:
    from backend.equations.model import FitSettings, fit_system
    from backend.workspace.atomic import atomic_dir, atomic_write_json

    out = _out_dir(spec, ctx)
    ctx.progress(0.0, "loading data")
    t, x, names, truth, info, frames = _load(spec, ctx)
    ctx.check_cancelled()
    settings = FitSettings.from_job_params(spec.params)
    ctx.progress(0.5, f"fitting {settings.library} with {settings.optimizer}")
    fit = fit_system(t, x, names, settings, truth=truth)
    ctx.check_cancelled()
    for note in fit.notes:
        ctx.log(note)
    for k, v in fit.metrics.items():
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            ctx.metric(k, v)
    for line in fit.model.text():
        ctx.log(line)
    with atomic_dir(out, overwrite=bool(spec.params.get("overwrite"))) as tmp:
        images = _write_common(tmp, fit, frames)
        summary = {**fit.summary(), "names": fit.model.names, "coords": info, "n_samples": len(t), "truth": truth}
        atomic_write_json(tmp / "summary.json", summary)
    images = {k: str(out / Path(v).relative_to(tmp)) for k, v in images.items()}
    for k, v in images.items():
        ctx.artifact(k, v)
    ctx.progress(1.0, "done")
    return {"out": str(out), "equations": fit.model.text(), "latex": fit.model.latex(), "metrics": fit.metrics,
            "names": fit.model.names, "images": images, "notes": fit.notes, "formulation": fit.formulation,
            "selection": fit.selection, "series": str(out / "series.npz"), "model": str(out / "model.json"),
            "coords": {k: v for k, v in info.items() if k != "centroids"}}


@register_job("equations.discover", title="Equation discovery: proposer loop")
def discover_job(spec: JobSpec, ctx: JobContext) -> dict:
    from backend.equations.loop import discover
    from backend.equations.model import FitSettings
    from backend.equations.proposers import make_proposer
    from backend.workspace.atomic import atomic_dir

    p = spec.params
    out = _out_dir(spec, ctx)
    t, x, names, truth, _info, frames = _load(spec, ctx)
    prop = dict(p.get("proposer") or {"kind": "builtin"})
    if prop.get("kind") == "hf" and spec.inputs.get("proposer_model"):
        prop["folder"] = spec.inputs["proposer_model"]
    proposer = make_proposer(prop.pop("kind", "builtin"), device=ctx.device, **prop)
    settings = FitSettings.from_job_params(p, library="poly1")
    with atomic_dir(out, overwrite=bool(p.get("overwrite"))) as tmp:
        tr = discover(t, x, names, proposer, tmp, settings, rounds=int(p.get("rounds", 4)), truth=truth,
                      progress=lambda f, m: ctx.progress(0.1 + 0.85 * f, m), check_cancelled=ctx.check_cancelled)
        for r in tr["rounds"]:
            ctx.metric("score", r["score"], r["round"])
            ctx.log(f"round {r['round']}: {'; '.join(r['equations'])}")
        best = tr["rounds"][tr["best_round"]]
        from dataclasses import replace

        from backend.equations.model import fit_system

        fit = fit_system(t, x, names, replace(settings, custom_terms=best["custom_terms"]), truth=truth)
        images = _write_common(tmp, fit, frames)
    images = {k: str(out / Path(v).relative_to(tmp)) for k, v in images.items()}
    ctx.artifact("transcript", out / "transcript.json")
    ctx.progress(1.0, "done")
    return {"out": str(out), "transcript": str(out / "transcript.json"), "best_round": tr["best_round"],
            "equations": best["equations"], "latex": best["latex"], "metrics": best["metrics"],
            "rounds": len(tr["rounds"]), "stopped": tr.get("stopped"), "names": names, "images": images,
            "series": str(out / "series.npz"), "model": str(out / "model.json")}


@register_job("equations.system", title="Equation discovery: simulate a built-in system")
def system_job(spec: JobSpec, ctx: JobContext) -> dict:
    from backend.equations import data, systems
    from backend.workspace.atomic import atomic_write_bytes, atomic_write_text

    p = spec.params
    name, noise, seed = p["system"], float(p.get("noise", 0.0)), int(p.get("seed", 0))
    out = Path(p.get("out") or ctx.path(f"{name}.csv"))
    ctx.progress(0.1, f"simulating {name}")
    if name == "pendulum_video":
        if out.suffix != ".npz":
            raise ValueError(f"{out}: the pendulum video is written as .npz (frames, t)")
        import io

        v = systems.pendulum_video(noise=noise, seed=seed)
        buf = io.BytesIO()
        np.savez_compressed(buf, frames=v["frames"].astype(np.float32), t=v["t"])
        atomic_write_bytes(out, buf.getvalue())
        shape, truth = list(v["frames"].shape), v["truth"]
    else:
        t, x, names = systems.simulate(name, noise, seed, p.get("t_end"), p.get("dt"))
        if out.suffix == ".npz":
            buf = __import__("io").BytesIO()
            np.savez(buf, t=t, x=x, names=np.array(names))
            atomic_write_bytes(out, buf.getvalue())
        else:
            atomic_write_text(out, data.to_csv_text(t, x, names))
        shape, truth = list(x.shape), systems.SYSTEMS[name].truth
    ctx.artifact("data", out)
    ctx.progress(1.0, "done")
    return {"out": str(out), "system": name, "noise": noise, "shape": shape, "truth": truth}
