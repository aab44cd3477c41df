"""One merge (or T-Switch) run with everything the panel shows: per-task accuracy of the base,
each fine-tune and the result, storage, and per-layer statistics (density kept, sign conflicts
between the task vectors)."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import torch

from backend.scale.params import ExecutorParams


def eval_files(fts: dict[str, Path], extra: dict[str, str] | None = None) -> dict[str, Path]:
    """Task eval sets: the zoo's ``task_<t>_eval.jsonl`` beside ``arith-ft-<t>``, plus ``extra``."""
    from backend.models.zoo import finetune_data, finetune_task

    out = {}
    for t, folder in fts.items():
        p = finetune_data(folder, "eval", finetune_task(folder) or t)
        if p is not None:
            out[t] = p
    out.update({t: Path(p) for t, p in (extra or {}).items()})
    return out


def trim_for(method: str, density: float | None, seed: int = 0,
             drop: float | None = None) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """The sparsification a static merge applies to each task vector (None: it keeps them whole),
    so the per-layer view shows what the merge really kept and where the kept entries conflict."""
    from backend.merging.methods import breadcrumbs_mask, dare_mask, magnitude_mask
    from backend.merging.registry import METHODS
    from backend.merging.tswitch import tswitch_tensor

    if method == "tswitch" and drop is not None:
        return lambda d: d * (tswitch_tensor(d, drop).signs != 0)
    if density is None or density >= 1.0 or method not in METHODS:
        return None
    gen = torch.Generator().manual_seed(seed)
    sparsify = METHODS[method].sparsify
    if sparsify == "magnitude":
        return lambda d: d * magnitude_mask(d, density)
    if sparsify == "breadcrumbs":
        return lambda d: d * breadcrumbs_mask(d, density, 0.01)
    if sparsify == "dare":
        return lambda d: d * dare_mask(d, density, gen)
    return None


def layer_stats(base: Path, fts: dict[str, Path], densities: dict[str, dict[str, float]] | None = None,
                trim: Callable[[torch.Tensor], torch.Tensor] | None = None) -> dict:
    """Per tensor: each task's kept density (given, else share of non-zero delta after ``trim``)
    and the share of entries where the kept task vectors' signs disagree (what TIES resolves)."""
    from backend.merging.streaming import checked_indexes, read

    ix = checked_indexes([base, *fts.values()])
    rows, matrix = [], []
    for name, e in ix[0].items():
        if len(e.shape) < 2:
            continue
        b = read(e).float()
        deltas = [read(x[name]).float() - b for x in ix[1:]]
        if trim is not None:
            deltas = [trim(d) for d in deltas]
        signs = torch.stack([torch.sign(d) for d in deltas])
        pos, neg = (signs > 0).any(0), (signs < 0).any(0)
        conflict = float((pos & neg).float().mean())
        dens = [densities[t][name] if densities and name in densities.get(t, {}) else float((d != 0).float().mean())
                for t, d in zip(fts, deltas)]
        rows.append(name)
        matrix.append(dens + [conflict])
    return {"rows": rows, "cols": [f"{t} kept" for t in fts] + ["sign conflict"], "matrix": matrix}


def run_study(base: str, fts: dict[str, str], method: str, params: dict, out: Path,
              progress: Callable[[float, str], None] | None = None, cancel: Callable[[], None] | None = None,
              limit: int | None = None, extra_evals: dict[str, str] | None = None,
              executor: ExecutorParams | None = None, device: str = "cpu") -> dict:
    """Merge (or build T-Switch switches), then evaluate the base, each fine-tune and the result
    on every task; ``executor`` spreads the evaluations over shards (``study_eval``)."""
    from backend.compression.evaluate import load_examples
    from backend.merging.config import parse_config
    from backend.merging.merge import run_merge
    from backend.merging.study_eval import evaluate_study, study_evaluations
    from backend.merging.tswitch import build_tswitch
    from backend.models.tensors import resolve_model as resolve

    prog = progress or (lambda f, m: None)
    base_dir = resolve(base)
    ft_dirs = {t: resolve(p) for t, p in fts.items()}
    files = eval_files(ft_dirs, extra_evals)
    result: dict = {"method": method, "params": params, "base": str(base_dir),
                    "finetunes": {t: str(p) for t, p in ft_dirs.items()},
                    "out": str(out), "tasks": list(files)}
    prog(0.05, "building the merge")
    densities = None
    if method == "tswitch":
        info = build_tswitch(base_dir, ft_dirs, float(params.get("drop", 0.6)), out,
                             progress=lambda f, m: prog(0.05 + 0.25 * f, m), cancel=cancel,
                             knob=str(params.get("knob", "tensor")))
        result["storage"] = [{"task": t, "bytes": d["bytes"], "fp32 bytes": 4 * info["params"],
                              "bits/param": d["bits_per_param"],
                              "% of fp32": d["pct_of_fp32"], "density kept": d["density_kept"]}
                             for t, d in info["tasks"].items()]
        densities = {t: d["per_tensor_density"] for t, d in info["tasks"].items()}
    else:
        model_params = {"weight": float(params.get("weight", 1.0))}
        if "density" in params:
            model_params["density"] = float(params["density"])
        glob = {k: params[k] for k in ("lambda", "normalize", "t") if k in params}
        cfg = parse_config({"merge_method": method, "base_model": str(base_dir),
                            "models": [{"model": str(p), "parameters": model_params} for p in ft_dirs.values()],
                            "parameters": glob})
        res = run_merge(cfg, out, progress=lambda f, m: prog(0.05 + 0.25 * f, m), cancel=cancel)
        size = sum(p.stat().st_size for p in out.glob("*.safetensors"))
        n = res["params"]
        result["storage"] = [{"task": f"merged model (one for all {len(ft_dirs)} tasks)", "bytes": size,
                              "fp32 bytes": 4 * n, "bits/param": 8 * size / n,
                              "% of fp32": 100 * 8 * size / (32 * n),
                              "density kept": None}]
        result["config_yaml"] = (out / "benchtop_merge.yml").read_text(encoding="utf-8")
        result["params_per_s"] = res["params_per_s"]
    prog(0.32, "per-layer statistics")
    trim = trim_for(method, params.get("density"), drop=float(params.get("drop", 0.6)))
    result["layers"] = layer_stats(base_dir, ft_dirs, densities, trim)
    acc: dict[str, dict[str, float]] = {}
    if files:
        examples = {t: load_examples(p, limit) for t, p in files.items()}
        evals = study_evaluations(base_dir, ft_dirs, method, out, list(examples))
        acc, shards = evaluate_study(evals, examples, executor, _StudyCtx(prog, cancel), device)
        if executor is not None:
            result.update(executor.describe_run(shards))
    result["accuracy"] = acc
    prog(1.0, "done")
    return result


class _StudyCtx:
    """What the executor needs of a job context, over the study's progress and cancel callbacks
    (``cancel`` raises when the user stopped): the evaluations fill 35-95 % of the progress."""

    def __init__(self, progress: Callable[[float, str], None], cancel: Callable[[], None] | None) -> None:
        self._progress, self._cancel = progress, cancel

    @property
    def cancelled(self) -> bool:
        try:
            self.check_cancelled()
        except Exception:  # noqa: BLE001 - whatever the callback raises means "stop"
            return True
        return False

    def check_cancelled(self) -> None:
        if self._cancel is not None:
            self._cancel()

    def progress(self, fraction: float, message: str = "") -> None:
        self._progress(0.35 + 0.6 * fraction, message)


def autoswitch_answer(base: str, tswitch_dir: str, prompt: str, k: int = 10, hard: bool = False,
                      n_query: int = 100, max_new_tokens: int = 16) -> dict:
    """Route one prompt: task weights from the kNN over the base's features of each task's query
    set (the zoo's training prompts beside each fine-tune), then greedy answer of the composed model."""
    from transformers import AutoTokenizer

    from backend.compression.evaluate import load_model
    from backend.merging import autoswitch
    from backend.merging.tswitch import compose_state
    from backend.models.tensors import resolve_model as resolve
    from backend.models.zoo import finetune_data, finetune_task
    from backend.models.zoo.train import generate
    from backend.readers import read_tswitch_meta

    base_dir = resolve(base)
    meta = read_tswitch_meta(tswitch_dir)
    queries = {}
    for t, d in meta["tasks"].items():
        ft = Path(d["finetune"])
        q = finetune_data(ft, "train", finetune_task(ft) or t)
        if q is None:
            raise FileNotFoundError(f"no query set for task {t}: expected a task_{t}_train.jsonl in "
                                    f"{ft.parent / 'data'}")
        queries[t] = autoswitch.query_prompts(q, n_query)
    model = load_model(base_dir)
    tok = AutoTokenizer.from_pretrained(str(base_dir))
    router = autoswitch.fit(model, tok, queries, k=k)
    weights = router.weights(autoswitch.embed(model, tok, [prompt]), hard=hard)
    model = load_model(base_dir, state_dict=compose_state(base_dir, tswitch_dir, weights))
    answer = generate(model, tok, [prompt], max_new_tokens)[0][0]
    return {"prompt": prompt, "weights": weights, "answer": answer.split("\n")[0].strip()}
