"""The Compute box: executor settings into the JobSpec, the Ray-missing refusal, resources off the GUI thread."""
from __future__ import annotations

import sys

import pytest


def test_changes_and_restore(qtbot):
    from app.widgets.compute_box import ComputeBox

    box = ComputeBox()
    qtbot.addWidget(box)
    assert box.changes() == {} and box.title() == "Compute: this process"
    box.set_values({"shards": 4, "strategies": ["beam"]})
    assert box.changes() == {"shards": 4} and "4 shards" in box.title()


def test_ray_missing_refused_in_one_line(qtbot, monkeypatch):
    from app.widgets.compute_box import ComputeBox

    monkeypatch.setitem(sys.modules, "ray", None)
    box = ComputeBox()
    qtbot.addWidget(box)
    box.set_values({"executor": "ray"})
    with pytest.raises(ValueError, match=r"pip install benchtop\[cluster\]"):
        box.changes()
    box.fetch_resources()
    assert box.resources.text() == "Ray is not installed (pip install benchtop[cluster])"


def test_resources_arrive_from_a_thread(qtbot, monkeypatch):
    pytest.importorskip("ray", reason="Ray is not installed (pip install benchtop[cluster])")
    import threading

    from app.widgets.compute_box import ComputeBox
    from backend.scale import ray_runtime

    seen = []

    def fake(address: str) -> dict:
        seen.append(threading.current_thread() is threading.main_thread())
        return {"cpus": 2.0, "gpus": 0.0, "nodes": 1, "address": address or "local"}

    monkeypatch.setattr(ray_runtime, "cluster_summary", fake)
    box = ComputeBox()
    qtbot.addWidget(box)
    box.fetch_resources()
    qtbot.waitUntil(lambda: "CPUs" in box.resources.text(), timeout=5000)
    assert box.resources.text() == "1 node, 2 CPUs, 0 GPUs (local)" and seen == [False]
