"""The executor options of a shardable command (``--executor``, ``--ray-address``, ``--shards``...)."""
from __future__ import annotations

import argparse

from backend.scale.params import ExecutorParams

EXECUTOR_GROUP = "executor (where shards run; docs/scale.md)"   # the CLI's argument-group title


def add_executor_arguments(parser: argparse.ArgumentParser) -> None:
    """One argument group from :class:`ExecutorParams` (no Ray import: parser building stays instant)."""
    from backend.cli.params_args import add_params_arguments

    add_params_arguments(parser.add_argument_group(EXECUTOR_GROUP), ExecutorParams)


def executor_params_from_args(args: argparse.Namespace) -> dict:
    """The executor options the user gave, validated; ``executor=ray`` without Ray is refused here,
    before any model is loaded."""
    from backend.cli.params_args import params_from_args

    given = params_from_args(args, ExecutorParams)
    check_executor(ExecutorParams.from_params(given))
    return given


def check_executor(ex: ExecutorParams) -> None:
    """Refuse ``--ray-address`` without ``--executor ray``, and ``executor=ray`` without Ray, before
    any model is loaded (commands whose settings groups include ExecutorParams call this)."""
    if ex.ray_address and ex.executor != "ray":
        raise ValueError(f"--ray-address {ex.ray_address} needs --executor ray")
    if ex.executor == "ray":
        from backend.scale.ray_runtime import import_ray

        import_ray()
