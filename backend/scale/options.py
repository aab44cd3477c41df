"""The executor options of a shardable command (``--executor``, ``--ray-address``, ``--shards``...)."""
from __future__ import annotations

import argparse

from backend.scale.params import ExecutorParams


def add_executor_arguments(parser: argparse.ArgumentParser) -> None:
    """One argument group from :class:`ExecutorParams` (no Ray import: parser building stays instant)."""
    from backend.cli.params_args import add_params_arguments

    add_params_arguments(parser.add_argument_group("executor (where shards run; docs/scale.md)"), ExecutorParams)


def executor_params_from_args(args: argparse.Namespace) -> dict:
    """The executor options the user gave, validated; ``executor=ray`` without Ray is refused here,
    before any model is loaded."""
    from backend.cli.params_args import params_from_args

    given = params_from_args(args, ExecutorParams)
    ex = ExecutorParams.from_params(given)
    if ex.ray_address and ex.executor != "ray":
        raise ValueError(f"--ray-address {ex.ray_address} needs --executor ray")
    if ex.executor == "ray":
        from backend.scale.ray_runtime import import_ray

        import_ray()
    return given
