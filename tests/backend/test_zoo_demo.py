"""The demo profile's figures (slow: builds the demo zoo unless one is given).

Uses ``$BENCHTOP_DEMO_ZOO`` (a built demo zoo folder) when set, else the workspace's demo zoo if it
is ready, else builds one under pytest's basetemp (several minutes). Run with ``-m slow``.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from backend.models.zoo import build_zoo, read_manifest, verify_zoo, zoo_root

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_manifest(tmp_path_factory):
    env = os.environ.get("BENCHTOP_DEMO_ZOO")
    root = Path(env) if env else zoo_root(profile="demo")
    if verify_zoo(root) is None and (read_manifest(root) or {}).get("profile") == "demo":
        return read_manifest(root)
    return build_zoo(tmp_path_factory.mktemp("demo") / "demo", "demo")


def test_finetunes_beat_base_and_each_other(demo_manifest):
    tasks = demo_manifest["figures"]["tasks"]
    for task, margin in tasks["margin_over_base"].items():
        assert margin >= 0.30, (task, tasks["accuracy"])
        assert tasks["margin_over_other_finetunes"][task] >= 0.20, (task, tasks["accuracy"])


def test_policy_in_band_and_voting_helps(demo_manifest):
    pol = demo_manifest["figures"]["policy"]
    assert 0.30 <= pol["greedy"] <= 0.70, pol
    assert pol[f"maj@{pol['votes']}"] > pol["greedy"], pol
    assert pol["votes"] == 16


def test_prm_separates_steps(demo_manifest):
    figs = demo_manifest["figures"]
    assert figs["prm"]["roc_auc"] >= 0.85, figs["prm"]


def test_genprm_agrees_and_its_snippets_run(demo_manifest):
    figs = demo_manifest["figures"]
    assert figs["genprm"]["agreement"] >= 0.85, figs["genprm"]
    assert figs["genprm"]["snippets_ran"] >= 0.95, figs["genprm"]


def test_built_in_time(demo_manifest):
    assert demo_manifest["build_seconds"] < 600 * max(1.0, float(os.environ.get("BENCHTOP_SLOW_MACHINE", 1)))
