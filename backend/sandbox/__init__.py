"""A sandbox for untrusted Python snippets (generative PRM verification code, user snippets).

``run_python(code, timeout=5.0, memory_mb=512, max_output_bytes=65536) -> SandboxResult``; see
:mod:`backend.sandbox.runner` for the layers of isolation and their limits.
"""
from backend.sandbox.runner import SandboxResult, network_isolation, run_python

__all__ = ["SandboxResult", "network_isolation", "run_python"]
