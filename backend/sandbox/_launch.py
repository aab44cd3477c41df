# Stage 0 of the sandbox; not imported by Benchtop. Runs as a launcher server (a zygote):
# ``python -I -S -B -c <this file> serve FD`` receives one request per run on the SOCK_SEQPACKET
# socket FD (a marshal-ed config dict plus the run's stdout, stderr and status pipes) and forks
# an L for it. The server exists only to pay this interpreter's start-up (~50 ms) once per
# Benchtop process instead of once per snippet; it exits when Benchtop's end of the socket closes.
#
# Why a separate interpreter: namespaces, mounts and uid changes must happen in a single-threaded
# process before the snippet's interpreter starts, and Benchtop calls the sandbox from worker
# threads (where a pre-exec hook is unsafe). The kernel, not this code, then holds the walls:
#
#   L (this process)  as root: build the tree below in a private mount namespace, then drop to
#                     uid 65534. Then unshare user/mount/pid/net/ipc/uts/cgroup namespaces, map one
#                     unprivileged uid (65534 inside), fork C, wait for it.
#   C (pid 1 inside)  (not root: build the tree now) a read-only tmpfs root holding the
#                     interpreter, its libraries, /dev nodes and the snippet's own tmpfs folder;
#                     mount a fresh /proc, pivot_root into it, rlimits, drop every capability,
#                     no_new_privs, landlock (when the kernel has it), seccomp; fork S.
#   S                 exec the snippet's interpreter (_boot.py). When S ends, C reports its wait
#                     status and exits; the kernel then kills whatever S left in the pid namespace.
#
# Every step either succeeds or the run is refused with "E <why and what to enable>" on the status
# pipe: there is no weaker fallback. The status pipe also carries "C <pid>" and "S <wait status>".
import ctypes
import errno
import marshal
import os
import resource
import sys

cfg: dict = {}  # cfg, ST, SOURCE and NR are set per run by configure()
ST, SOURCE = -1, b""
NR: dict[str, int] = {}
libc = ctypes.CDLL(None, use_errno=True)
libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
libc.syscall.restype = ctypes.c_long
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC = 0x20000, 0x2000000, 0x4000000, 0x8000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
SIGKILL = 9  # not `import signal`: its enums cost this start-up ~20 ms
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_SECCOMP, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 4, 22, 24, 38
USERNS_HINT = ("enable unprivileged user namespaces: sysctl -w user.max_user_namespaces=15000 "
               "(Debian/Ubuntu: also kernel.unprivileged_userns_clone=1 and "
               "kernel.apparmor_restrict_unprivileged_userns=0; containers: allow unshare/clone in the "
               "seccomp profile, e.g. docker --security-opt seccomp=unconfined)")


class Unavailable(Exception):
    """A kernel feature the sandbox needs is missing: the run is refused."""


def configure(raw, status_fd, parent):
    """This run's config (``syscalls`` holds the pivot_root, mount_setattr and landlock numbers
    for this machine), its status pipe and the pid L must find as its parent."""
    global cfg, ST, SOURCE, NR
    cfg, ST = marshal.loads(raw), status_fd
    cfg["parent_pid"], NR = parent, cfg["syscalls"]
    os.set_inheritable(ST, False)  # S must never hold it
    with open(cfg["snippet"], "rb") as f:
        SOURCE = f.read()


def report(line):
    os.write(ST, (line.replace("\n", " ") + "\n").encode("utf-8", "replace"))


def check(stage, ret, hint):
    """Raise Unavailable naming the stage, the errno and what to enable when ``ret`` < 0."""
    err = ctypes.get_errno() if ret < 0 else 0
    if cfg.get("simulate_missing") == stage:
        ret, err = -1, errno.EPERM
    if ret < 0:
        raise Unavailable(f"{stage}: {os.strerror(err)}; {hint}")
    return ret


def mount(src, dst, fstype, flags, data, stage, hint="the container must allow mounts in a user namespace"):
    def enc(s):
        return None if s is None else s.encode()

    check(stage, libc.mount(enc(src), enc(dst), enc(fstype), flags, enc(data)), hint)


def lock_bind(path, attrs):
    """Add read-only/nosuid/nodev/noexec to a bind mount and everything below it (mount_setattr)."""
    attr = (ctypes.c_uint64 * 4)(attrs, 0, 0, 0)  # attr_set, attr_clr, propagation, userns_fd
    ret = libc.syscall(NR["mount_setattr"], -100, path.encode(), 0x8000, ctypes.byref(attr), 32)
    if ret < 0 and ctypes.get_errno() == errno.ENOSYS:  # kernel < 5.12: remount the top mount only
        flags = MS_REMOUNT | MS_BIND | MS_NOSUID | (MS_RDONLY if attrs & 1 else 0) | (MS_NODEV if attrs & 4 else 0)
        vfs = os.statvfs(path).f_flag  # keep the flags the kernel locked on the source mount
        flags |= sum(ms for st, ms in ((2, MS_NOSUID), (4, MS_NODEV), (8, MS_NOEXEC), (1024, 1024), (2048, 2048),
                                       (4096, 1 << 21)) if vfs & st)
        ret = libc.mount(None, path.encode(), None, flags, None)
    check("read-only bind of " + path, ret, "the kernel must allow remounting bind mounts read-only")


def outer():
    """L: runs as the caller (root or not); ends holding no privilege outside the namespaces."""
    with open("/proc/sys/kernel/cap_last_cap") as f:
        cap_last = int(f.read())
    if os.geteuid() == 0:  # never run the snippet as root, not even root of its own namespace
        # Root builds the tree first, in a private mount namespace, while it can still reach every
        # source (Python may live under /root, which uid 65534 cannot enter).
        check("mount namespace", libc.unshare(CLONE_NEWNS), "the kernel must offer mount namespaces")
        build_tree()
        uid, gid = cfg["root_uid"], cfg["root_gid"]
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
        libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # so this process may write its own uid_map
    libc.prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0)
    if os.getppid() != cfg["parent_pid"]:
        os._exit(1)  # Benchtop died before we armed the death signal
    euid, egid = os.geteuid(), os.getegid()
    check("user namespace", libc.unshare(CLONE_NEWUSER), USERNS_HINT)
    inner = cfg["inner_uid"]
    for name, text in (("setgroups", "deny"), ("uid_map", f"{inner} {euid} 1"), ("gid_map", f"{inner} {egid} 1")):
        try:
            with open(f"/proc/self/{name}", "w") as f:
                f.write(text)
        except OSError as exc:
            raise Unavailable(f"user namespace id map ({name}): {exc.strerror}; {USERNS_HINT}") from None
    check("mount/pid/net/ipc/uts/cgroup namespaces",
          libc.unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP),
          "the kernel must allow these namespaces inside a user namespace (CONFIG_*_NS)")
    return cap_last


def build_tree():
    """A read-only tmpfs at cfg["root"] holding only the bind mounts (built by root before it drops
    its uid, or by the namespace's own uid when Benchtop is not root)."""
    root = cfg["root"]
    mount(None, "/", None, MS_REC | MS_PRIVATE, None, "private mount propagation")
    mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755", "tmpfs root")
    for b in cfg["binds"]:
        dst = root + b["dst"]
        if b["dir"]:
            os.makedirs(dst, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            open(dst, "a").close()
        mount(b["src"], dst, None, MS_BIND | MS_REC, None, "bind " + b["dst"])
        lock_bind(dst, b["attrs"])
    for path, target in cfg["symlinks"]:
        os.makedirs(os.path.dirname(root + path), exist_ok=True)
        os.symlink(target, root + path)
    os.makedirs(root + "/proc", exist_ok=True)
    # The snippet's folder: a size-capped tmpfs, so a snippet cannot fill the host's disk.
    work = root + cfg["work"]
    os.makedirs(work, exist_ok=True)
    uid = cfg["inner_uid"]
    mount("tmpfs", work, "tmpfs", MS_NOSUID | MS_NODEV, f"size={cfg['work_mb']}m,mode=0700,uid={uid},gid={uid}",
          "the snippet's tmpfs folder")
    fd = os.open(os.path.join(work, "snippet.py"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.write(fd, SOURCE)
    if os.geteuid() == 0:
        os.fchown(fd, uid, uid)
    os.close(fd)
    mount(None, root, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, None, "read-only root")


def enter_root():
    """C: a fresh /proc of the new pid namespace, then pivot_root into the tree and drop the old root."""
    root = cfg["root"]
    if not cfg["built"]:
        build_tree()
    # Root's tree was copied into this namespace with every mount locked, and pivot_root refuses a
    # locked new root: a recursive bind of the tree onto itself gives a mount this namespace owns.
    mount(root, root, None, MS_BIND | MS_REC, None, "bind the root onto itself")
    mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "subset=pid", "fresh /proc",
          "the kernel must allow mounting proc (subset=pid, Linux 5.8+) for a new pid namespace")
    os.chdir(root)
    check("pivot_root", libc.syscall(NR["pivot_root"], b".", b"."), "the root file system must allow pivot_root")
    check("detach the old root", libc.umount2(b".", 2), "the kernel must allow a lazy unmount")
    os.chdir("/")
    libc.sethostname(b"sandbox", 7)


def limit():
    """rlimits, then no capability at all, no_new_privs, landlock and seccomp (in that order)."""
    mb = 1024 * 1024
    for name, value in (("RLIMIT_AS", cfg["memory_mb"] * mb), ("RLIMIT_CPU", cfg["cpu_seconds"]),
                        ("RLIMIT_FSIZE", cfg["file_mb"] * mb), ("RLIMIT_NOFILE", 64), ("RLIMIT_CORE", 0),
                        ("RLIMIT_NPROC", cfg["nproc"])):
        hard = value + 1 if name == "RLIMIT_CPU" else value
        resource.setrlimit(getattr(resource, name), (value, hard))
    for cap in range(cfg["cap_last"] + 1):
        check("drop capabilities", libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0), "prctl(PR_CAPBSET_DROP)")
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)
    data = (ctypes.c_uint32 * 6)()
    check("drop capabilities", libc.capset(ctypes.byref(header), ctypes.byref(data)), "capset")
    check("no_new_privs", libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "Linux 3.5+ (prctl PR_SET_NO_NEW_PRIVS)")
    layers = []
    if landlock():
        layers.append("landlock")
    prog = ctypes.create_string_buffer(bytes.fromhex(cfg["seccomp"]))
    fprog = (ctypes.c_ulong * 2)(len(prog.raw) // 8, ctypes.addressof(prog))  # sock_fprog: len, filter
    check("seccomp", libc.prctl(PR_SET_SECCOMP, 2, ctypes.addressof(fprog), 0, 0),
          "the kernel needs CONFIG_SECCOMP_FILTER and the container must allow installing a filter")
    return layers


def landlock():
    """Extra layer where the kernel offers it: reads anywhere in the (already minimal) root, writes
    only in the snippet's folder and /dev/null, no TCP (ABI 4+), no signals out (ABI 6+)."""
    abi = libc.syscall(NR["landlock_create_ruleset"], None, 0, 1)
    if abi < 1:
        return False
    read = 1 | 4 | 8  # execute, read file, read dir
    fs_all = (1 << 13) - 1 | (1 << 13 if abi >= 2 else 0) | (1 << 14 if abi >= 3 else 0) | (1 << 15 if abi >= 5 else 0)
    ruleset = (ctypes.c_uint64 * 3)(fs_all, 3 if abi >= 4 else 0, 3 if abi >= 6 else 0)
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    fd = check("landlock", libc.syscall(NR["landlock_create_ruleset"], ctypes.byref(ruleset), size, 0), "landlock")
    file_rights = 1 | 2 | 4 | (1 << 14 if abi >= 3 else 0)
    for path, rights in (("/", read), (cfg["work"], fs_all & ~(1 << 6 | 1 << 11)), ("/dev/null", file_rights & ~1)):
        pfd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        rule = ctypes.create_string_buffer(rights.to_bytes(8, "little") + pfd.to_bytes(4, "little"), 12)
        check("landlock rule " + path, libc.syscall(NR["landlock_add_rule"], fd, 1, rule, 0), "landlock")
        os.close(pfd)
    check("landlock", libc.syscall(NR["landlock_restrict_self"], fd, 0), "landlock")
    os.close(fd)
    return True


def init():
    """C: pid 1 of the sandbox. Builds and locks the world, runs S, reports how S ended."""
    libc.prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0)
    # Not dumpable: the snippet runs as the same uid, and must not reach this process's memory or
    # reopen its status pipe through /proc/1/fd (it would forge status lines).
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    os.setsid()  # leave L's process group: kill(0, ...) from the snippet must not reach L
    enter_root()
    layers = limit()
    report("L " + ",".join(layers))
    s = os.fork()
    if s == 0:
        try:
            os.chdir(cfg["work"])
            os.execve(cfg["python"], cfg["argv"], cfg["env"])
        except BaseException as exc:  # noqa: BLE001 (the interpreter cannot start inside the root)
            report(f"E the snippet's interpreter cannot start inside the sandbox: {type(exc).__name__}: {exc}")
        finally:
            os._exit(127)
    while True:  # pid 1 also reaps what S orphans
        pid, status = os.waitpid(-1, 0)
        if pid == s:
            report(f"S {status}")
            os._exit(0)


def main():
    """L: one run, from the server's fork to the end of the sandbox's pid namespace."""
    report(f"P {os.getpid()}")
    cfg["built"] = os.geteuid() == 0
    try:
        cfg["cap_last"] = outer()
    except Unavailable as exc:
        report(f"E {exc}")
        os._exit(3)
    except BaseException as exc:  # noqa: BLE001 (a refusal with the reason, never a weaker run)
        report(f"E sandbox set-up failed: {type(exc).__name__}: {exc}")
        os._exit(3)
    c = os.fork()
    if c == 0:
        try:
            init()
        except Unavailable as exc:
            report(f"E {exc}")
        except BaseException as exc:  # noqa: BLE001 anything else in set-up is also a refusal, never a weaker run
            report(f"E sandbox set-up failed: {type(exc).__name__}: {exc}")
        os._exit(3)
    report(f"C {c}")
    os.waitpid(c, 0)  # returns once C and every process of its pid namespace are gone
    os._exit(0)  # closes the status pipe: Benchtop's signal that the run is over


def serve(sock_fd):
    """The zygote loop: one fork per request; finished launchers are reaped on the next one."""
    import socket  # once per server, not per run

    sock = socket.socket(fileno=sock_fd)
    me = os.getpid()
    while True:
        msg, fds, _flags, _addr = socket.recv_fds(sock, 1 << 20, 3)
        if not msg:
            os._exit(0)  # Benchtop closed its end (or exited)
        while True:
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    break
            except ChildProcessError:
                break
        if len(fds) == 3 and os.fork() == 0:
            sock.close()
            os.dup2(fds[0], 1)
            os.dup2(fds[1], 2)
            os.close(fds[0])
            os.close(fds[1])
            try:
                configure(msg, fds[2], me)
                main()
            except BaseException as exc:  # noqa: BLE001 (a refusal with the reason, never a weaker run)
                os.write(fds[2], f"E sandbox launcher failed: {type(exc).__name__}: {exc}\n".encode())
            os._exit(3)
        for fd in fds:
            os.close(fd)


if sys.argv[1:2] == ["serve"]:
    serve(int(sys.argv[2]))
