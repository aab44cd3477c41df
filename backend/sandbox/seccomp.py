"""The sandbox's seccomp filter, assembled here as classic BPF (no libseccomp needed).

Why a filter on top of namespaces: a snippet that holds no capability can still ask the kernel for
a new user namespace (and with it a fresh set of capabilities), trace a sibling, load BPF or use
io_uring, whose attack surface has no business in a verification snippet. The filter refuses those
calls with EPERM, refuses sockets other than AF_UNIX (``EAFNOSUPPORT``), refuses ``clone`` with any
namespace flag, answers ``clone3`` with ENOSYS (its flags live in memory a filter cannot read;
glibc then falls back to ``clone``) and kills the process on a foreign architecture or the x32 ABI.

Syscall numbers are tabled for x86_64 and aarch64; elsewhere :func:`program` raises, and the
sandbox refuses to run rather than run without the filter.
"""
from __future__ import annotations

import platform
import struct

AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
# name: (x86_64, aarch64); from the kernel's unistd tables
_NR = {
    "ptrace": (101, 117), "mount": (165, 40), "umount2": (166, 39), "pivot_root": (155, 41), "chroot": (161, 51),
    "unshare": (272, 97), "setns": (308, 268), "kexec_load": (246, 104), "kexec_file_load": (320, 294),
    "bpf": (321, 280), "keyctl": (250, 219), "add_key": (248, 217), "request_key": (249, 218),
    "perf_event_open": (298, 241), "userfaultfd": (323, 282), "init_module": (175, 105),
    "finit_module": (313, 273), "delete_module": (176, 106), "acct": (163, 89), "swapon": (167, 224),
    "swapoff": (168, 225), "reboot": (169, 142), "syslog": (103, 116), "quotactl": (179, 60),
    "name_to_handle_at": (303, 264), "open_by_handle_at": (304, 265), "process_vm_readv": (310, 270),
    "process_vm_writev": (311, 271), "sethostname": (170, 161), "setdomainname": (171, 162),
    "vhangup": (153, 58), "io_uring_setup": (425, 425), "io_uring_enter": (426, 426),
    "io_uring_register": (427, 427), "open_tree": (428, 428), "move_mount": (429, 429), "fsopen": (430, 430),
    "fsconfig": (431, 431), "fsmount": (432, 432), "fspick": (433, 433), "pidfd_getfd": (438, 438),
    "mount_setattr": (442, 442), "statmount": (457, 457), "listmount": (458, 458),
    "socket": (41, 198), "clone": (56, 220), "clone3": (435, 435),
    "landlock_create_ruleset": (444, 444), "landlock_add_rule": (445, 445), "landlock_restrict_self": (446, 446),
}
_NR_X86_ONLY = {"iopl": 172, "ioperm": 173, "uselib": 134, "lookup_dcookie": 212}
DENIED = sorted(set(_NR) - {"socket", "clone", "clone3", "landlock_create_ruleset", "landlock_add_rule",
                            "landlock_restrict_self"} | set(_NR_X86_ONLY))
NS_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000 | 0x00000080
AF_UNIX = 1
EPERM, ENOSYS, EAFNOSUPPORT = 1, 38, 97
RET_KILL_PROCESS, RET_ALLOW, RET_ERRNO = 0x80000000, 0x7FFF0000, 0x00050000
LD_W_ABS, JEQ, JGE, JSET, RET = 0x20, 0x15, 0x35, 0x45, 0x06


def machine() -> str:
    m = platform.machine().lower()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(m, m)


def syscall_numbers(arch: str | None = None) -> dict[str, int]:
    """name -> number on ``arch`` (default: this machine); KeyError where the arch is not tabled."""
    arch = arch or machine()
    col = ("x86_64", "aarch64").index(arch) if arch in AUDIT_ARCH else None
    if col is None:
        raise KeyError(f"no seccomp syscall table for {arch} (tabled: x86_64, aarch64)")
    nrs = {name: pair[col] for name, pair in _NR.items()}
    if arch == "x86_64":
        nrs.update(_NR_X86_ONLY)
    return nrs


def program(arch: str | None = None) -> bytes:
    """The filter as ``struct sock_filter[]`` bytes, ready for ``prctl(PR_SET_SECCOMP)``."""
    arch = arch or machine()
    nrs = syscall_numbers(arch)
    ops: list[tuple] = [(LD_W_ABS, 4), (JEQ, AUDIT_ARCH[arch], "nr", "kill"), ("label", "nr"), (LD_W_ABS, 0)]
    if arch == "x86_64":
        ops.append((JGE, 0x40000000, "eperm", None))  # x32 ABI numbers
    ops += [(JEQ, nrs[name], "eperm", None) for name in DENIED if name in nrs]
    ops += [(JEQ, nrs["socket"], "socket", None), (JEQ, nrs["clone"], "clone", None),
            (JEQ, nrs["clone3"], "enosys", None), (RET, RET_ALLOW),
            ("label", "socket"), (LD_W_ABS, 16), (JEQ, AF_UNIX, "allow", None), (RET, RET_ERRNO | EAFNOSUPPORT),
            ("label", "clone"), (LD_W_ABS, 16), (JSET, NS_FLAGS, "eperm", None), ("label", "allow"), (RET, RET_ALLOW),
            ("label", "eperm"), (RET, RET_ERRNO | EPERM), ("label", "enosys"), (RET, RET_ERRNO | ENOSYS),
            ("label", "kill"), (RET, RET_KILL_PROCESS)]
    return _assemble(ops)


def _assemble(ops: list[tuple]) -> bytes:
    """Resolve labels into the 8-bit forward jump offsets of classic BPF and pack the program."""
    where, n = {}, 0
    for op in ops:
        if op[0] == "label":
            where[op[1]] = n
        else:
            n += 1
    out, i = [], 0
    for op in ops:
        if op[0] == "label":
            continue
        code, k = op[0], op[1]
        jt = jf = 0
        if len(op) == 4:
            jt = 0 if op[2] is None else where[op[2]] - i - 1
            jf = 0 if op[3] is None else where[op[3]] - i - 1
            if not (0 <= jt <= 255 and 0 <= jf <= 255):
                raise ValueError("seccomp program too long for a forward jump")
        out.append(struct.pack("<HBBI", code, jt, jf, k))
        i += 1
    return b"".join(out)
