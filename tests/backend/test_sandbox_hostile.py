"""Each hostile snippet of docs/prm.md is contained by the kernel's walls: as the test's own user
(root on CI) and, where the machine allows it, as an unprivileged user; when a kernel feature is
missing the sandbox refuses to run anything and says what to enable."""
from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import sandbox_cases as sc

from backend.sandbox import run_python, seccomp
from backend.sandbox.runner import SIMULATE_ENV

ROOT = Path(__file__).resolve().parents[2]
NO_KERNEL = sc.kernel_refuses_namespaces()
needs_kernel = pytest.mark.skipif(bool(NO_KERNEL), reason=NO_KERNEL)


@pytest.fixture(scope="module")
def ctx():
    c = sc.make_ctx()
    yield c
    c.close()


@needs_kernel
@pytest.mark.parametrize("case", sc.CASES, ids=[c.name for c in sc.CASES])
def test_hostile_snippet_contained(case, ctx):
    assert sc.run_case(case, ctx) == []


@needs_kernel
def test_hostile_snippets_contained_as_unprivileged_user():
    """The same cases from a harness running as uid 65534 (the caller's own uid is then what the
    sandbox's processes have outside, so only the namespaces keep its victim alive)."""
    if os.geteuid() != 0:
        pytest.skip("the suite already runs as an unprivileged user (the parametrized cases above)")
    if shutil.which("unshare") is None:
        pytest.skip("util-linux unshare is needed to start the unprivileged harness")
    out = subprocess.run(["unshare", "-m", "--propagation", "private", sys.executable, "-I",
                          str(Path(__file__).with_name("sandbox_cases.py")), "as-nobody"],
                         capture_output=True, text=True, timeout=180, cwd="/tmp", check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["uid"] == 65534
    assert set(report["results"]) == {c.name for c in sc.CASES}
    assert {k: v for k, v in report["results"].items() if v} == {}


@needs_kernel
def test_isolation_names_the_layers():
    r = run_python("print('hi')")
    assert r.status == "ok" and r.stdout == "hi\n"
    for layer in ("user namespace", "mount namespace", "pid namespace", "network namespace", "no_new_privs",
                  "seccomp", "rlimits", "audit hook"):
        assert layer in r.isolation, (layer, r.isolation)
    assert "audit hook" not in run_python("pass", audit_hook=False).isolation


@pytest.mark.skipif(not NO_KERNEL, reason="this kernel offers the namespaces")
def test_refuses_on_a_kernel_without_namespaces():
    r = run_python("print('RAN')")
    assert r.status == "unavailable" and r.stdout == "" and "enable" in r.reason


@needs_kernel
@pytest.mark.parametrize("stage", ["user namespace", "mount/pid/net/ipc/uts/cgroup namespaces", "fresh /proc",
                                   "pivot_root", "no_new_privs", "seccomp"])
def test_refuses_when_a_kernel_feature_is_missing(stage, monkeypatch):
    monkeypatch.setenv(SIMULATE_ENV, stage)
    r = run_python("print('RAN')")
    assert r.status == "unavailable" and r.stdout == "" and "RAN" not in r.stderr
    assert stage in r.reason and "not run" in r.reason and r.isolation == ""
    if stage == "user namespace":
        assert "max_user_namespaces" in r.reason


def test_cli_refuses_when_unavailable(tmp_path):
    f = tmp_path / "s.py"
    f.write_text("print('RAN')\n")
    env = {**os.environ, SIMULATE_ENV: "user namespace"}
    out = subprocess.run([sys.executable, str(ROOT / "main.py"), "sandbox", "run", str(f)], capture_output=True,
                         text=True, timeout=60, cwd=ROOT, env=env, check=False)
    assert out.returncode == 2 and "RAN" not in out.stdout
    assert out.stderr.count("\n") == 1 and out.stderr.startswith("error: ") and "user namespace" in out.stderr


@pytest.mark.parametrize("kwargs", [{"memory_mb": -1}, {"memory_mb": 0}, {"memory_mb": math.nan},
                                    {"memory_mb": math.inf}, {"memory_mb": 1.5}, {"timeout": -1},
                                    {"timeout": 0}, {"timeout": math.nan}, {"timeout": math.inf},
                                    {"max_output_bytes": -5}, {"nproc": 0}, {"memory_mb": True}])
def test_limits_must_be_positive_and_finite(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        run_python("print(1)", **kwargs)


@pytest.mark.parametrize("args", [["--memory-mb", "-5"], ["--memory-mb", "inf"], ["--timeout", "nan"],
                                  ["--timeout", "-1"], ["--max-output", "0"]])
def test_cli_validates_numbers(args, tmp_path):
    f = tmp_path / "s.py"
    f.write_text("print('RAN')\n")
    out = subprocess.run([sys.executable, str(ROOT / "main.py"), "sandbox", "run", str(f), *args],
                         capture_output=True, text=True, timeout=60, cwd=ROOT, check=False)
    assert out.returncode == 2 and "RAN" not in out.stdout
    assert out.stderr.strip().splitlines() == [out.stderr.strip()] and args[0] in out.stderr


def test_seccomp_program_assembles_for_both_tabled_arches():
    x86, arm = seccomp.program("x86_64"), seccomp.program("aarch64")
    assert len(x86) % 8 == 0 and len(arm) % 8 == 0 and x86 != arm
    with pytest.raises(KeyError, match="riscv64"):
        seccomp.program("riscv64")


@needs_kernel
def test_genprm_style_snippets_still_work():
    code = ("import math, numpy as np, sympy as sp\nx = sp.symbols('x')\n"
            "print(sp.solve(x**2 - 4, x), math.isclose(np.sqrt(2.0)**2, 2.0))")
    r = run_python(code, timeout=30)
    assert r.status == "ok", r.reason + r.stderr[-500:]
    assert r.stdout.strip() == "[-2, 2] True"


@needs_kernel
def test_launcher_server_restarts_and_stops():
    """The zygote is an optimisation only: killed, it is restarted; closed, it is gone."""
    from backend.sandbox.runner import _ZYGOTE

    assert run_python("print(1)").ok
    first = _ZYGOTE._proc
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    r = run_python("print(2)")
    assert r.ok and r.stdout == "2\n" and _ZYGOTE._proc.pid != first.pid
    second = _ZYGOTE._proc
    _ZYGOTE.close()
    assert second.poll() is not None
    assert run_python("print(3)").stdout == "3\n"
