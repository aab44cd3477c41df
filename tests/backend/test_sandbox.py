"""The sandbox stops or refuses each hostile snippet with a clear reason, from any thread."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from backend.sandbox import run_python

sys.path.insert(0, str(Path(__file__).parent))
from sandbox_cases import kernel_refuses_namespaces

ROOT = Path(__file__).resolve().parents[2]
_WHY = kernel_refuses_namespaces()
pytestmark = pytest.mark.skipif(bool(_WHY), reason=_WHY or "n/a")


def test_ok_and_error():
    r = run_python("print(6 * 7)")
    assert r.status == "ok" and r.stdout.strip() == "42" and r.exit_code == 0
    r = run_python("1/0")
    assert r.status == "error" and "ZeroDivisionError" in r.reason


def test_infinite_loop_times_out():
    r = run_python("while True: pass", timeout=1.0)
    assert r.status == "timeout" and "1 s" in r.reason and r.duration < 5


def test_fork_bomb_refused():
    r = run_python("import os\nwhile True:\n    os.fork()", timeout=3)
    assert r.status == "refused" and "os.fork" in r.reason
    r = run_python("import subprocess; subprocess.run(['sh', '-c', ':(){ :|:& };:'])", timeout=3)
    assert r.status == "refused" and "subprocess" in r.reason


def test_memory_hog_stopped():
    r = run_python("x = bytearray(4 * 1024**3)", memory_mb=256)
    assert r.status == "memory_limit" and "256 MB" in r.reason
    r = run_python("xs = []\nwhile True:\n    xs.append(bytearray(10**7))", memory_mb=256, timeout=10)
    assert r.status in ("memory_limit", "killed"), r.reason


def test_network_refused():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    try:
        code = f"import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=2)\nprint('connected')"
        r = run_python(code, timeout=5)
        assert r.status == "refused" and "network" in r.reason and "connected" not in r.stdout
    finally:
        srv.close()


def test_files_outside_refused(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("user data")
    r = run_python(f"print(open({str(secret)!r}).read())")
    assert r.status == "refused" and "reading" in r.reason and "user data" not in r.stdout
    target = tmp_path / "evil.txt"
    r = run_python(f"open({str(target)!r}, 'w').write('x')")
    assert r.status == "refused" and "writing" in r.reason and not target.exists()
    r = run_python(f"import os; os.remove({str(secret)!r})")
    assert r.status == "refused" and secret.read_text() == "user data"


def test_home_is_private():
    home = str(Path.home())
    r = run_python("import os; print(os.path.expanduser('~')); print(os.listdir('.'))")
    assert r.status == "ok" and home not in r.stdout.splitlines()[0]
    r = run_python(f"import os; print(os.listdir({home!r}))")
    assert r.status == "refused"


def test_own_folder_usable_and_removed():
    r = run_python("import os\nopen('a.txt', 'w').write('hi')\nprint(open('a.txt').read(), os.getcwd())")
    assert r.status == "ok" and r.stdout.startswith("hi")
    assert not Path(r.stdout.split()[1]).exists()


def test_gigabyte_of_output_capped():
    r = run_python("import sys\nfor _ in range(10**6):\n    sys.stdout.write('x' * 1000)", max_output_bytes=10000,
                   timeout=60)  # the cap, not the clock, must stop it (even on a loaded machine)
    assert r.status == "output_limit" and len(r.stdout) <= 10000 and r.duration < 30, (r.status, r.reason)


def test_numeric_libraries_available():
    r = run_python("import sympy\nprint(sympy.simplify('(x+1)**2 - x**2 - 2*x'))", timeout=20)
    assert r.status == "ok" and r.stdout.strip() == "1"


def test_from_worker_threads():
    results = []
    threads = [threading.Thread(target=lambda: results.append(run_python("while True: pass", timeout=0.5)))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert [r.status for r in results] == ["timeout", "timeout"]


def test_cli_json(tmp_path):
    f = tmp_path / "snip.py"
    f.write_text("print('hello')\n")
    before = f.read_bytes()
    out = subprocess.run([sys.executable, str(ROOT / "main.py"), "sandbox", "run", str(f), "--timeout", "3", "--json"],
                         capture_output=True, text=True, timeout=60, cwd=ROOT, check=False)
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    assert res["status"] == "ok" and res["stdout"].strip() == "hello" and f.read_bytes() == before
    out = subprocess.run([sys.executable, str(ROOT / "main.py"), "sandbox", "run", str(tmp_path / "nope.py")],
                         capture_output=True, text=True, timeout=60, cwd=ROOT, check=False)
    assert out.returncode == 2 and "nope.py" in out.stderr
