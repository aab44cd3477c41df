"""Where a shardable job runs (``backend.scale.ExecutorParams``): executor, Ray address, shards,
and what the cluster offers.

A collapsible "Compute" group, closed by default with a one-line summary in its title (like the
prompt box), so it costs one line at 1280x720. "Cluster resources" asks Ray for its CPUs, GPUs
and nodes on a background thread (starting a local Ray takes seconds) and says so in one line
when Ray is not installed. What the user changed goes into the JobSpec's params under the CLI's
names (``--executor``, ``--ray-address``, ``--shards``).
"""
from __future__ import annotations

import threading
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.widgets.fold import make_foldable
from app.widgets.params_form import ParamsForm
from backend.scale.params import ExecutorParams


class ComputeBox(QGroupBox):
    """A ``ParamsForm`` over :class:`ExecutorParams` plus a cluster-resources line."""

    _resources_ready = Signal(str)

    def __init__(self, scope: str = "", parent: QWidget | None = None) -> None:
        """``scope`` names the part of the job that is sharded when it is not all of it."""
        super().__init__(parent)
        self._head = f"Compute ({scope})" if scope else "Compute"
        self.setCheckable(True)
        self.setChecked(False)
        self.body = QWidget(self)
        self.form = ParamsForm(ExecutorParams, parent=self.body)
        self.form.editor("shards").setSpecialValueText("auto")
        self.form.editor("ray_address").setPlaceholderText("start a local Ray (or: auto, ray://HOST:10001)")
        self.resources_button = QPushButton("Cluster resources")
        self.resources_button.setToolTip("ask Ray for its CPUs, GPUs and nodes (starts a local Ray when the "
                                         "address is empty)")
        self.resources = QLabel("")
        self.resources.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.resources_button)
        row.addWidget(self.resources, 1)
        inner = QVBoxLayout(self.body)
        inner.setContentsMargins(0, 0, 0, 0)
        inner.addWidget(self.form)
        inner.addLayout(row)
        lay = QVBoxLayout(self)
        lay.addWidget(self.body)
        make_foldable(self, self.body, lay)
        self.form.changed.connect(self._retitle)
        self.resources_button.clicked.connect(self.fetch_resources)
        self._resources_ready.connect(self._show_resources)
        self._retitle()

    def _retitle(self) -> None:
        try:
            p = self.form.params()
        except ValueError:
            self.setTitle(f"{self._head}: invalid setting")
            return
        if p.executor == "local":
            what = "this process" + (f", {p.shards} shards" if p.shards > 1 else "")
        else:
            shards = f"{p.shards} shards" if p.shards else "a shard per worker"
            what = f"Ray at {p.ray_address}, {shards}" if p.ray_address else f"a local Ray, {shards}"
        self.setTitle(f"{self._head}: {what}")

    def changes(self) -> dict[str, Any]:
        """Settings that differ from the defaults (validated; ValueError with the reason, including
        Ray missing when executor=ray)."""
        p = self.form.params()
        if p.executor == "ray":
            from backend.scale.ray_runtime import import_ray

            import_ray()
        defaults = ExecutorParams().to_dict()
        return {k: v for k, v in p.to_dict().items() if v != defaults[k]}

    def set_values(self, values: dict) -> None:
        """Restore from a run's params (other keys ignored)."""
        self.form.set_values({k: v for k, v in values.items() if k in self.form.names()})
        self._retitle()

    # -- cluster resources, off the GUI thread ------------------------------------------------
    def fetch_resources(self) -> None:
        from backend.scale.ray_runtime import ray_available

        if not ray_available():
            self.resources.setText("Ray is not installed (pip install benchtop[cluster])")
            return
        address = str(self.form.values().get("ray_address") or "")
        self.resources_button.setEnabled(False)
        self.resources.setText("asking Ray…")
        threading.Thread(target=self._fetch, args=(address,), daemon=True, name="ray-resources").start()

    def _fetch(self, address: str) -> None:
        from backend.scale.ray_runtime import cluster_summary

        try:
            r = cluster_summary(address)
            text = (f"{r['nodes']} node{'s' if r['nodes'] != 1 else ''}, {r['cpus']:g} CPUs, {r['gpus']:g} GPUs "
                    f"({r['address']})")
        except Exception as exc:  # noqa: BLE001 - any failure to reach Ray is shown, in one line
            text = f"Ray unavailable: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        self._resources_ready.emit(text)

    def _show_resources(self, text: str) -> None:
        self.resources.setText(text)
        self.resources_button.setEnabled(True)
