"""Build the one-folder bundle and its archive: ``make package`` (or ``python packaging/build.py``).

Runs PyInstaller on ``packaging/benchtop.spec`` (output in ``dist/benchtop/``), adds the desktop
entry and icon, packs ``dist/benchtop-<version>-linux-<arch>.tar.gz`` with a progress line, and
prints the bundle's size, what trimming saved and the build time.
"""
from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "dist"
BUNDLE = DIST / "benchtop"


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def mib(n: int) -> str:
    return f"{n / 2**20:.0f} MiB"


def run_pyinstaller() -> None:
    cmd = [sys.executable, "-m", "PyInstaller", str(ROOT / "packaging" / "benchtop.spec"), "--noconfirm",
           "--distpath", str(DIST), "--workpath", str(ROOT / "build" / "pyinstaller"), "--log-level", "WARN"]
    print("[1/3] analysing and collecting (PyInstaller)…", flush=True)
    proc = subprocess.run(cmd, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"error: PyInstaller failed with exit code {proc.returncode}")


def add_desktop_files() -> None:
    shutil.copy2(ROOT / "packaging" / "benchtop.desktop", BUNDLE / "benchtop.desktop")
    shutil.copy2(ROOT / "resources" / "icons" / "benchtop.png", BUNDLE / "benchtop.png")
    script = BUNDLE / "install-desktop-entry.sh"
    script.write_text(
        "#!/bin/sh\n# Adds Benchtop to the desktop's application menu for this user.\nset -e\n"
        'here=$(cd "$(dirname "$0")" && pwd)\n'
        'mkdir -p "$HOME/.local/share/applications" "$HOME/.local/share/icons/hicolor/256x256/apps"\n'
        'cp "$here/benchtop.png" "$HOME/.local/share/icons/hicolor/256x256/apps/benchtop.png"\n'
        'sed "s|^Exec=benchtop|Exec=$here/benchtop|" "$here/benchtop.desktop" '
        '> "$HOME/.local/share/applications/benchtop.desktop"\n'
        'echo "Benchtop added to the application menu."\n', encoding="utf-8")
    script.chmod(0o755)


def archive(version: str) -> Path:
    out = DIST / f"benchtop-{version}-linux-{platform.machine()}.tar.gz"
    files = sorted(p for p in BUNDLE.rglob("*"))
    total = sum(p.stat().st_size for p in files if p.is_file())
    done, last = 0, 0.0
    tmp = out.with_suffix(".partial")
    print(f"[3/3] packing {len(files)} files into {out.name}…", flush=True)
    with tarfile.open(tmp, "w:gz", compresslevel=6) as tar:
        tar.add(BUNDLE, arcname="benchtop", recursive=False)
        for p in files:
            tar.add(p, arcname=str(Path("benchtop") / p.relative_to(BUNDLE)), recursive=False)
            if p.is_file():
                done += p.stat().st_size
            if time.monotonic() - last > 2 or done == total:
                last = time.monotonic()
                print(f"  {100 * done / max(total, 1):3.0f}%  {mib(done)} of {mib(total)}", flush=True)
    os.replace(tmp, out)
    return out


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from backend.resources import version

    start = time.monotonic()
    if BUNDLE.exists():
        shutil.rmtree(BUNDLE)
    run_pyinstaller()
    print("[2/3] adding the desktop entry and icon", flush=True)
    add_desktop_files()
    built = time.monotonic() - start
    out = archive(version())
    trim = json.loads((DIST / "trim-report.json").read_text()) if (DIST / "trim-report.json").is_file() else {}
    size = folder_size(BUNDLE)
    print(f"bundle: {BUNDLE} {mib(size)} (trimmed {mib(sum(trim.values()))}: "
          + ", ".join(f"{k} {mib(v)}" for k, v in trim.items()) + ")")
    print(f"archive: {out} {mib(out.stat().st_size)}")
    print(f"build time: {built:.0f} s to the bundle, {time.monotonic() - start:.0f} s with the archive")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
