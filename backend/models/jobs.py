"""The ``zoo.build`` job: build (or reuse) the arithmetic demo zoo in the workspace.

Params: ``backend.models.params.ZooBuildParams`` (profile, seed, force). Inputs: optional ``root`` (a zoo folder;
default ``<workspace>/zoo/<profile>``, the workspace being the one that holds the run, ``ctx.workspace``).
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from backend.jobs.registry import register_job

if TYPE_CHECKING:
    from backend.jobs import JobContext, JobSpec


@register_job("zoo.build", title="Build the demo zoo")
def build_job(spec: JobSpec, ctx: JobContext) -> dict:
    from backend.models.params import ZooBuildParams
    from backend.models.zoo import build_zoo, zoo_root

    p = ZooBuildParams.from_params(spec.params)
    profile, seed = p.profile, p.seed
    root = Path(spec.inputs["root"]) if spec.inputs.get("root") else zoo_root(ctx.workspace, profile)
    ctx.log(f"building the {profile} zoo in {root}")
    manifest = build_zoo(root, profile, seed=seed, ctx=ctx, force=p.force)
    for name, value in _flat_figures(manifest).items():
        ctx.metric(name, value)
    ctx.artifact("manifest", root / "manifest.json")
    return {"root": str(root), "profile": profile, "seed": seed, "build_seconds": manifest.get("build_seconds"),
            "models": sorted(manifest.get("models", {})), "figures": manifest.get("figures", {}),
            "manifest": str(root / "manifest.json")}


def _flat_figures(manifest: dict) -> dict[str, float]:
    f = manifest.get("figures", {})
    out: dict[str, float] = {}
    for task, margin in f.get("tasks", {}).get("margin_over_base", {}).items():
        out[f"ft_{task}_margin_over_base"] = margin
    pol = f.get("policy", {})
    for key in ("greedy", f"maj@{pol.get('votes', 16)}"):
        if key in pol:
            out[f"policy_{key}"] = pol[key]
    if "roc_auc" in f.get("prm", {}):
        out["prm_roc_auc"] = f["prm"]["roc_auc"]
    if "agreement" in f.get("genprm", {}):
        out["genprm_agreement"] = f["genprm"]["agreement"]
    return out
