"""``python main.py bnn train --data {digits|FILE.npz} --method {ste-sgd,ste-adam,metaquant,fsg}
[--epochs N] [--seed S] --out DIR [--json]`` (plus every other setting of :class:`BnnTrainParams`)."""
from __future__ import annotations

import argparse

from backend.cli.common import add_json_flag, run_job
from backend.cli.params_args import add_params_arguments, params_from_args


def register(sub: argparse._SubParsersAction) -> None:
    from backend.bnn.params import BnnTrainParams

    p = sub.add_parser("bnn", help="binary-weight networks: STE vs learned gradients (FSG, MetaQuant)",
                       description="Binary-weight networks (DoReFa W1A32) fine-tuned with STE or learned gradients.")
    bs = p.add_subparsers(dest="bnn_command", required=True, metavar="{train}")
    t = bs.add_parser("train", help="pretrain, binarise and fine-tune one network",
                      description=BnnTrainParams.__doc__)
    t.add_argument("--data", required=True,
                   help="digits, iris, wine, breast_cancer, or an .npz with X (N×features or N×H×W[×C]) and y")
    t.add_argument("--out", required=True, help="output folder (model.safetensors, metrics.json)")
    add_params_arguments(t, BnnTrainParams, required=("method",))
    add_json_flag(t)
    t.set_defaults(func=_train)


def _summary(result: dict) -> str:
    return (f"{result['method']} on {result['data']}: test accuracy {result['test_accuracy']:.4f} "
            f"(full precision {result['fp_test_accuracy']:.4f}); final loss {result['train_loss'][-1]:.4f}; "
            f"{result['mean_epoch_time_s']:.3f}s/epoch, {result['wall_time_s']:.1f}s in all\n"
            f"model: {result.get('model')}\nmetrics: {result.get('metrics_file')}")


def _train(args: argparse.Namespace) -> int:
    from pathlib import Path

    from backend.bnn.data import BUILTIN, load_arrays
    from backend.bnn.params import BnnTrainParams
    from backend.jobs import JobSpec

    params = params_from_args(args, BnnTrainParams)
    BnnTrainParams.from_params(params)                     # a bad setting fails before a run is recorded
    data = args.data if args.data in BUILTIN else str(Path(args.data).expanduser().resolve())
    if data not in BUILTIN:
        load_arrays(data)                                  # a malformed file: one line naming it
    out = Path(args.out).expanduser().resolve()
    if (out / "metrics.json").exists():
        raise FileExistsError(f"{out} already holds a bnn run (metrics.json); choose another --out")
    spec = JobSpec("bnn.train", params=params, inputs={"data": data, "out": str(out)},
                   device="cpu", label=f"bnn {params.get('method')} {Path(data).stem} s{params.get('seed', 0)}")
    return run_job(spec, args, summarize=_summary)
