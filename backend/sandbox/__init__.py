"""An OS-level sandbox for untrusted Python snippets (generative PRM verification code, user snippets).

``run_python(code, timeout=5.0, memory_mb=512, max_output_bytes=65536) -> SandboxResult``; see
:mod:`backend.sandbox.runner` for the layers the kernel enforces and docs/prm.md for the hostile
snippets each one contains.
"""
from backend.sandbox.runner import (
    SandboxResult,
    run_python,
    sandbox_support,
    validate_limits,
)

__all__ = ["SandboxResult", "run_python", "sandbox_support", "validate_limits"]
