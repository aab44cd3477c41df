"""Jobs: ``compression.compress`` (artifact, optional accuracy and rate–distortion sweep) and
``compression.decompress`` (artifact + base -> HF folder). Heavy imports stay inside."""
from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backend.compression.params import CompressParams
from backend.jobs import register_job

if TYPE_CHECKING:
    from backend.jobs import JobContext, JobSpec


def find_eval(ft_dir: Path) -> Path | None:
    """The zoo's eval set for a fine-tune folder named ``arith-ft-<task>`` (None elsewhere)."""
    from backend.models.zoo import finetune_data

    return finetune_data(ft_dir, "eval")


def _save_bitmaps(ctx: JobContext, bitmaps: dict) -> str | None:
    import numpy as np

    from backend.workspace.atomic import atomic_write_bytes

    if not bitmaps:
        return None
    buf = io.BytesIO()
    np.savez_compressed(buf, **{k: v.astype("uint8") for k, v in bitmaps.items()})
    path = atomic_write_bytes(ctx.path("bitmaps.npz"), buf.getvalue())
    ctx.artifact("bitmaps", path)
    return str(path)


@register_job("compression.compress", title="Compress a fine-tune's delta")
def compress_job(spec: JobSpec, ctx: JobContext) -> dict:
    """inputs: base, ft (folders or zoo: names), optional out, eval (JSONL), calibration (text for
    scale distillation); params: ``backend.compression.params.CompressParams`` (the sweep is
    rate–distortion; its Delta-DCT and BitDelta points are distilled too when this run is)."""

    from backend.compression import evaluate
    from backend.compression.artifact import compress
    from backend.compression.methods import DISTILLABLE

    p = CompressParams.from_record(spec.params)
    base, ft = ctx.resolve_model(spec.inputs["base"]), ctx.resolve_model(spec.inputs["ft"])
    out = Path(spec.inputs.get("out") or ctx.path("artifact"))
    method, bits = p.method, p.bits
    eval_path = spec.inputs.get("eval") or find_eval(ft)
    do_eval = p.evaluate and eval_path is not None
    sweep: dict[str, list] = {"methods": list(p.sweep_methods), "bits": list(p.sweep_bits)}
    n_sweep = len(sweep["methods"]) * len(sweep["bits"])
    span = 1.0 / (1 + n_sweep + (1 if do_eval else 0))
    kw: dict[str, Any] = dict(settings=p.settings(), which=p.which, exclude=p.exclude or None,
                              device=ctx.device, cancel=ctx.check_cancelled)
    calibration = spec.inputs.get("calibration")
    distill = {**p.distill(), "file": calibration} if calibration else None
    ctx.log(f"compressing {ft} against {base} with {method} at {bits} bits/param"
            + (f", scales distilled on {calibration}" if distill else ""))
    summary = compress(base, ft, out, method, bits, progress=lambda f, m: ctx.progress(f * span, m),
                       keep_recon=do_eval, distill=distill, **kw)
    ctx.artifact("artifact", out)
    recon = summary.pop("recon", None)
    summary["bitmaps_file"] = _save_bitmaps(ctx, summary.pop("bitmaps"))
    sizes = summary["sizes"]
    ctx.metric("payload_bpp", sizes["payload_bpp"])
    ctx.metric("total_bpp", sizes["total_bpp"])
    ctx.metric("rel_err", summary["rel_err"])
    if summary.get("distill"):
        ctx.metric("distill_kl", summary["distill"]["kl_after"])
    result = {"base": str(base), "ft": str(ft), "eval": str(eval_path) if eval_path else None, **summary}
    if do_eval and eval_path is not None:
        examples = evaluate.load_examples(eval_path, p.eval_limit)
        model = evaluate.load_model(base, device=ctx.device)
        acc: dict[str, Any] = {"base": evaluate.task_accuracy(model, ft, examples)}
        model.load_state_dict(recon, strict=False)
        acc["compressed"] = evaluate.task_accuracy(model, ft, examples)
        ft_model = evaluate.load_model(ft, device=ctx.device)
        acc["finetuned"] = evaluate.task_accuracy(ft_model, ft, examples)
        gain = acc["finetuned"] - acc["base"]
        acc["gain_kept"] = (acc["compressed"] - acc["base"]) / gain if gain > 0 else None
        acc["n"] = len(examples)
        from backend.generation.evaluate import wilson  # 95% intervals, the shared evaluator's

        acc["ci95"] = {k: list(wilson(round(acc[k] * len(examples)), len(examples)))
                       for k in ("base", "compressed", "finetuned")}
        result["accuracy"] = acc
        ctx.progress(span * 2, f"accuracy {acc['compressed']:.3f} (fine-tune {acc['finetuned']:.3f})")
    points = []
    if n_sweep:
        import tempfile

        examples = evaluate.load_examples(eval_path, p.eval_limit) if do_eval and eval_path is not None else []
        model = evaluate.load_model(base, device=ctx.device) if do_eval else None
        done = 0
        for m in sweep["methods"]:
            for b in sweep["bits"]:
                ctx.check_cancelled()
                if m == "bitdelta" and float(b) < 1:   # one sign per parameter is its minimum
                    done += 1
                    continue
                point_distill = distill if m in DISTILLABLE else None
                with tempfile.TemporaryDirectory(dir=ctx.run_dir) as tmp:
                    s = compress(base, ft, Path(tmp) / "a", m, float(b), keep_recon=do_eval, distill=point_distill,
                                 **{**kw, "settings": kw["settings"] if m == method else {}})
                row = {"method": m, "bits": float(b), "payload_bpp": s["sizes"]["payload_bpp"],
                       "total_bpp": s["sizes"]["total_bpp"], "rel_err": s["rel_err"],
                       "distilled": point_distill is not None}
                if do_eval and model is not None:
                    model.load_state_dict(s["recon"], strict=False)
                    row["accuracy"] = evaluate.task_accuracy(model, ft, examples)
                points.append(row)
                done += 1
                ctx.progress(span * (1 + (1 if do_eval else 0) + done), f"sweep {m} at {b} bits")
    result["sweep"] = points
    ctx.progress(1.0, "done")
    return result


@register_job("compression.decompress", title="Decompress a delta artifact")
def decompress_job(spec: JobSpec, ctx: JobContext) -> dict:
    """inputs: art, base (folder or zoo: name), optional out (default: the run folder's ``model``)."""
    from backend.compression.apply import decompress

    base = ctx.resolve_model(spec.inputs["base"])
    out = Path(spec.inputs.get("out") or ctx.path("model"))
    res = decompress(spec.inputs["art"], base, out, ctx.device, progress=ctx.progress, cancel=ctx.check_cancelled)
    ctx.artifact("model", out)
    return res
