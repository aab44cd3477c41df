"""``main.py bnn train`` in-process: a tiny JSON run and malformed inputs."""
from __future__ import annotations

import json

import numpy as np

from backend.cli import main as cli_main


def test_cli_train_json_and_bad_inputs(tmp_path, capsys):
    ws, out = str(tmp_path / "ws"), tmp_path / "out"
    rc = cli_main(["--workspace", ws, "bnn", "train", "--data", "digits", "--method", "ste-sgd", "--epochs", "2",
                   "--seed", "1", "--out", str(out), "--json", "--pretrain-epochs", "1", "--hidden", "16"])
    res = json.loads(capsys.readouterr().out)
    assert rc == 0 and res["status"] == "succeeded", res
    r = res["result"]
    assert 0 < r["test_accuracy"] <= 1 and len(r["train_loss"]) == 2 and r["wall_time_s"] > 0
    assert len(r["train_loss_iter"]) == 2 * (1437 // 64 + 1) and r["seed"] == 1
    assert (out / "model.safetensors").is_file() and (out / "metrics.json").is_file()
    # the same --out twice is refused before a run starts
    assert cli_main(["--workspace", ws, "bnn", "train", "--data", "digits", "--method", "fsg", "--out", str(out)]) == 2
    assert "already holds a bnn run" in capsys.readouterr().err
    # a malformed file: exit 2 and one line naming it
    np.savez(tmp_path / "one.npz", X=np.ones((20, 4)), y=np.zeros(20, dtype=int))
    rc = cli_main(["--workspace", ws, "bnn", "train", "--data", str(tmp_path / "one.npz"), "--method", "fsg",
                   "--out", str(tmp_path / "o2")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("error: ") and "one.npz" in err[0] and "one class" in err[0]
    # a bad setting: exit 2 naming the option, before a run starts
    rc = cli_main(["bnn", "train", "--data", "digits", "--method", "fsg", "--out", str(tmp_path / "o3"),
                   "--alpha", "2"])
    assert rc == 2 and "alpha=2.0" in capsys.readouterr().err and not (tmp_path / "o3").exists()
