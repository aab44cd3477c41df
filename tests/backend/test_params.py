"""The settings description: coercion, validation, CLI generation from one dataclass."""
from __future__ import annotations

import argparse
from dataclasses import dataclass

import pytest

from backend.cli.params_args import add_params_arguments, cli_flags, params_from_args
from backend.params import Params, param


@dataclass
class Demo(Params):
    label = "demo"
    method: str = param("ties", title="Method", choices=("ties", "dare", "linear"))
    drop: float = param(0.6, title="Drop rate", min=0.0, max=1.0, help="share of entries dropped")
    lr: float = param(5e-5, title="Learning rate", min=0.0, min_exclusive=True, log=True)
    steps: int = param(10, title="Steps", min=1)
    normalize: bool = param(True, title="Normalize")
    lengths: tuple[int, ...] = param((64, 128), title="Lengths")
    note: str = param("", title="Note", cli=False)

    def check(self) -> None:
        if self.method == "linear" and self.drop != 0.6:
            self.fail("drop", "linear merges drop nothing")


def test_defaults_and_round_trip():
    d = Demo.defaults()
    assert d == {"method": "ties", "drop": 0.6, "lr": 5e-5, "steps": 10, "normalize": True,
                 "lengths": [64, 128], "note": ""}
    assert Demo.from_params(d).to_dict() == d
    assert Demo.from_params({"steps": "7", "lengths": "1, 2,3"}).changed() == {"steps": 7, "lengths": [1, 2, 3]}


@pytest.mark.parametrize("params, words", [
    ({"drop": 1.5}, "Drop rate"),
    ({"drop": float("nan")}, "finite"),
    ({"lr": 0.0}, "> 0"),
    ({"lr": float("inf")}, "finite"),
    ({"steps": 0}, ">= 1"),
    ({"steps": 2.5}, "whole number"),
    ({"method": "slerp"}, "one of ties, dare, linear"),
    ({"normalize": "maybe"}, "true or false"),
    ({"stpes": 3}, "unknown demo setting(s): stpes"),
    ({"method": "linear", "drop": 0.1}, "linear merges drop nothing"),
])
def test_bad_values_are_refused_with_the_setting_named(params, words):
    with pytest.raises(ValueError, match=None) as err:
        Demo.from_params(params)
    assert words in str(err.value)


def test_sequence_defaults_must_be_tuples():
    with pytest.raises(TypeError):
        param([1, 2], title="x")


def test_cli_options_follow_the_class():
    parser = argparse.ArgumentParser()
    added = add_params_arguments(parser, Demo)
    assert {i.name for i in added} == {"method", "drop", "lr", "steps", "normalize", "lengths"}
    assert {"--method", "--drop", "--lr", "--steps", "--normalize", "--no-normalize", "--lengths"} <= cli_flags(parser)
    assert "--note" not in cli_flags(parser)
    args = parser.parse_args(["--drop", "0.3", "--no-normalize", "--lengths", "8,16"])
    assert params_from_args(args, Demo) == {"drop": 0.3, "normalize": False, "lengths": [8, 16]}
    assert params_from_args(parser.parse_args([]), Demo) == {}  # defaults stay the job's


def test_cli_rejects_bad_text_with_the_setting_named(capsys):
    parser = argparse.ArgumentParser()
    add_params_arguments(parser, Demo)
    with pytest.raises(SystemExit):
        parser.parse_args(["--steps", "two"])
    assert "steps" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parser.parse_args(["--method", "slerp"])


def test_rename_and_required():
    parser = argparse.ArgumentParser()
    add_params_arguments(parser, Demo, only=("drop", "steps"), rename={"drop": "--drop-rate"}, required=("steps",))
    assert cli_flags(parser) == {"--help", "--drop-rate", "--steps"}
    with pytest.raises(SystemExit):
        parser.parse_args([])
