# ruff: noqa: E401, E501 - kept verbatim as the baseline, so not restyled
# The pre-#16 sandbox boot (in-process audit hook only), kept verbatim as the start-up baseline of
# bench/sandbox.py. It is NOT a sandbox: see backend/sandbox for the one Benchtop uses.
# Bootstrap run inside the sandbox child (passed with ``python -I -c``); not imported by Benchtop.
# argv[1] is a JSON config. Order matters: limits first, then the audit hook, then the snippet.
import json, os, resource, sys

cfg = json.loads(sys.argv[1])
TMP = os.path.realpath(cfg["tmp"])
MB = 1024 * 1024
for name, soft, hard in (("RLIMIT_AS", cfg["memory_mb"] * MB, cfg["memory_mb"] * MB),
                         ("RLIMIT_CPU", cfg["cpu_seconds"], cfg["cpu_seconds"] + 1),
                         ("RLIMIT_FSIZE", cfg["file_mb"] * MB, cfg["file_mb"] * MB),
                         ("RLIMIT_NOFILE", 64, 64), ("RLIMIT_CORE", 0, 0),
                         ("RLIMIT_NPROC", cfg["nproc"], cfg["nproc"])):
    try:
        resource.setrlimit(getattr(resource, name), (soft, hard))
    except (ValueError, OSError):
        pass
os.chdir(TMP)

READ_ROOTS = tuple(os.path.realpath(p) for p in cfg["read_roots"] if p)
READ_FILES = ("/dev/null", "/dev/urandom", "/dev/zero", "/proc/cpuinfo", "/proc/meminfo")
_real, _write, _exit = os.path.realpath, os.write, os._exit
_DENY = ("os.fork", "os.forkpty", "os.exec", "os.posix_spawn", "os.spawn", "os.system", "os.kill", "os.killpg",
         "subprocess.Popen", "pty.spawn", "ctypes.dlopen", "ctypes.call_function", "ctypes.dlsym",
         "os.symlink", "os.link", "os.chroot")
_PATH_EVENTS = {"os.remove": 0, "os.rmdir": 0, "os.mkdir": 0, "os.rename": 0, "os.chmod": 0, "os.chown": 0,
                "os.truncate": 0, "os.utime": 0, "shutil.rmtree": 0, "os.listdir": 0, "os.scandir": 0,
                "os.chdir": 0, "os.chflags": 0, "os.setxattr": 0, "os.removexattr": 0}


def _inside(path, roots):
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def _refuse(what):
    _write(2, ("[sandbox] refused: " + what + "\n").encode("utf-8", "replace"))
    raise PermissionError("sandbox: " + what)


def _path(p):
    if isinstance(p, int):
        return None
    if isinstance(p, bytes):
        p = p.decode("utf-8", "replace")
    return _real(os.fspath(p))


def _hook(event, args):
    if event == "open":
        path = _path(args[0])
        if path is None:
            return
        mode, flags = args[1] or "r", args[2] or 0
        writing = any(c in str(mode) for c in "wax+") or flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC)
        if _inside(path, (TMP,)):
            return
        if not writing and (_inside(path, READ_ROOTS) or path in READ_FILES or path.startswith("/sys/devices/system/cpu")):
            return
        _refuse(("writing " if writing else "reading ") + path + " (outside the sandbox folder)")
    elif event.startswith("socket."):
        _refuse("network access (" + event + ")")
    elif event in _PATH_EVENTS:
        path = _path(args[0]) if args and args[0] is not None else TMP
        if path is not None and not _inside(path, (TMP,)) and not (event in ("os.listdir", "os.scandir") and _inside(path, READ_ROOTS)):
            _refuse(event + " " + str(path) + " (outside the sandbox folder)")
    elif event == "ctypes.dlopen" and args and args[0] is None:
        return  # ctypes' own handle to the running process (numpy does this at import)
    elif event.startswith(_DENY):
        _refuse(event + " (no processes or native calls in the sandbox)")


sys.addaudithook(_hook)
code_path = os.path.join(TMP, "snippet.py")
with open(code_path, encoding="utf-8") as f:
    source = f.read()
sys.argv = [code_path]
sys.path.insert(0, TMP)
glb = {"__name__": "__main__", "__file__": code_path, "__builtins__": __builtins__}
del cfg, f
try:
    exec(compile(source, code_path, "exec"), glb)
except MemoryError:
    _write(2, b"[sandbox] MemoryError: the memory limit was reached\n")
    _exit(86)
