"""Set up everything the test suite needs on a fresh machine, then run the checks and the tests.

    python3 tests/run.py [pytest arguments]

1. a virtualenv in .venv with the app (editable) and its dev tools;
2. every tests/setup/*.sh in order (system packages, the Claude Code CLI, PyGObject; each is idempotent);
3. ruff (lint + format check), mypy (strict), then pytest.
Exits with the first failing step's code.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")


def step(title: str, cmd: list[str], **kwargs: object) -> None:
    started = time.monotonic()
    print(f"\n=== {title}: {' '.join(cmd)}", flush=True)
    code = subprocess.call(cmd, cwd=ROOT, **kwargs)  # type: ignore[call-overload]
    print(f"=== {title}: exit {code} in {time.monotonic() - started:.1f} s", flush=True)
    if code != 0:
        sys.exit(code)


def main() -> None:
    if not (BIN / "python").exists():
        step("venv", [sys.executable, "-m", "venv", str(VENV)])
    py = str(BIN / "python")
    quiet = ["-q", "--disable-pip-version-check"]
    step("pip", [py, "-m", "pip", "install", *quiet, "--upgrade", "pip"])
    step("install", [py, "-m", "pip", "install", *quiet, "-e", ".[dev]"])
    env = {**os.environ, "VENV": str(VENV), "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    for script in sorted((ROOT / "tests" / "setup").glob("*.sh")):
        step(f"setup {script.name}", ["bash", str(script)], env=env)
    step("ruff", [str(BIN / "ruff"), "check", "."])
    step("ruff format", [str(BIN / "ruff"), "format", "--check", "."])
    step("mypy", [str(BIN / "mypy")])
    step("pytest", [py, "-m", "pytest", *sys.argv[1:]], env=env)


if __name__ == "__main__":
    main()
