#!/usr/bin/env python3
"""Build the frozen Linux app: `dist/ollama-mcp-tray/` (one folder, run `dist/ollama-mcp-tray/ollama-mcp-tray`).

    python packaging/build_linux.py [--dist DIR] [--work DIR] [--if-stale]

Run it with the interpreter of an environment that has the app's dependencies (the project's `.venv`, with
PyGObject for a clickable tray); PyInstaller is installed into that environment when missing (it is the
`freeze` extra). The build is analysed from a copy of this checkout's sources, not from what is installed.
A stamp file in the output folder records a hash of the sources, so `--if-stale` skips an up-to-date build.

Exit codes: 0 built (or already fresh), 1 the build failed, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "packaging" / "pyinstaller" / "ollama-mcp-tray.spec"
APP_NAME = "ollama-mcp-tray"
STAMP_NAME = "build-stamp.json"
# What the frozen app is made of: a change in any of these makes a build stale.
SOURCE_DIRS = ("server", "tray", "assets", "packaging/pyinstaller")
BUILD_TIMEOUT_S = 900


def say(text: str) -> None:
    """Progress for the person running the build."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def source_files(root: Path = ROOT) -> Iterable[Path]:
    """Every file the frozen app is built from, in a stable order."""
    for folder in SOURCE_DIRS:
        for path in sorted((root / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                yield path


def source_hash(root: Path = ROOT) -> str:
    """A digest of the sources' paths and contents."""
    digest = hashlib.sha256()
    for path in source_files(root):
        digest.update(path.relative_to(root).as_posix().encode("utf-8") + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def app_folder(dist: Path) -> Path:
    """The one-folder app inside `dist`."""
    return dist / APP_NAME


def is_fresh(dist: Path, root: Path = ROOT) -> bool:
    """Whether `dist` holds a build of exactly the current sources, by this Python."""
    stamp = app_folder(dist) / STAMP_NAME
    if not (app_folder(dist) / APP_NAME).is_file() or not stamp.is_file():
        return False
    recorded = json.loads(stamp.read_text(encoding="utf-8"))
    return bool(recorded.get("sources") == source_hash(root) and recorded.get("python") == sys.version)


def folder_size(folder: Path) -> int:
    """Bytes of every regular file under `folder` (symlinks not followed)."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def ensure_pyinstaller() -> None:
    """Install PyInstaller into this environment when it is missing."""
    if importlib.util.find_spec("PyInstaller") is None:
        say("Installing PyInstaller into this environment (the `freeze` extra)...")
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "pyinstaller>=6"],
            check=True,
            timeout=BUILD_TIMEOUT_S,
        )


def missing_for_windows() -> list[str]:
    """What this Python lacks for the frozen app's windows: PyInstaller bundles the Tk and sv_ttk it finds here,
    and a build without them still succeeds, with windows that cannot open."""
    # _tkinter, not tkinter: a Python built without Tk's headers still has the tkinter package.
    return [name for name in ("_tkinter", "sv_ttk") if importlib.util.find_spec(name) is None]


def build(dist: Path, work: Path, *, env: dict[str, str] | None = None) -> dict[str, object]:
    """Run PyInstaller on the spec and stamp the result.

    Returns:
        The stamp: source hash, Python version, build seconds and the folder's size in bytes.

    Raises:
        subprocess.CalledProcessError: PyInstaller failed (its output went to this process's stdout/stderr).
    """
    ensure_pyinstaller()
    started = time.monotonic()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "PyInstaller",
            "--noconfirm",
            "--clean",
            "--log-level",
            "WARN",
            "--distpath",
            str(dist),
            "--workpath",
            str(work),
            str(SPEC),
        ],
        check=True,
        cwd=ROOT,
        env=env,
        timeout=BUILD_TIMEOUT_S,
    )
    stamp: dict[str, object] = {
        "sources": source_hash(),
        "python": sys.version,
        "platform": platform.platform(),
        "build_seconds": round(time.monotonic() - started, 1),
        "size_bytes": folder_size(app_folder(dist)),
    }
    (app_folder(dist) / STAMP_NAME).write_text(json.dumps(stamp, indent=2) + "\n", encoding="utf-8")
    return stamp


def main(argv: Sequence[str] | None = None) -> int:
    """Build (or confirm a fresh build of) the one-folder Linux app."""
    parser = argparse.ArgumentParser(description="Build the frozen Linux app with PyInstaller.")
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="output folder (default: ./dist)")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "pyinstaller", help="PyInstaller's work folder")
    parser.add_argument("--if-stale", action="store_true", help="do nothing when the output matches the sources")
    args = parser.parse_args(argv)
    if not sys.platform.startswith("linux"):
        sys.stderr.write("build_linux.py builds the Linux app; on macOS/Windows run PyInstaller on the spec.\n")
        return 2
    if args.if_stale and is_fresh(args.dist):
        say(f"Up to date: {app_folder(args.dist)}")
        return 0
    missing = missing_for_windows()
    if missing:
        sys.stderr.write(
            f"Warning: this Python lacks {', '.join(missing)}, so the app's windows will not open in this build "
            "(Debian/Ubuntu: sudo apt install python3-tk; sv_ttk: pip install sv-ttk).\n"
        )
    try:
        stamp = build(args.dist.resolve(), args.work.resolve(), env=dict(os.environ))
    except subprocess.CalledProcessError as exc:
        sys.stderr.write(f"The build failed (PyInstaller exited {exc.returncode}); its messages are above.\n")
        return 1
    size_mb = int(str(stamp["size_bytes"])) / 1e6
    say(f"Built {app_folder(args.dist)} in {stamp['build_seconds']} s, {size_mb:.0f} MB.")
    say(f"Try: {app_folder(args.dist) / APP_NAME} status")
    return 0


if __name__ == "__main__":
    sys.exit(main())
