"""A hostile project folder: a module file for every module our server imports at start, each leaving a marker.

Claude Code starts our server in whatever folder it runs in. If the server's command put that folder on
sys.path, these files would run inside the server. Each one writes a marker file (named after the module) and
then hands over to the real module, so a server that is hijacked still works: the markers, not a crash, tell.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from pathlib import Path

# Named in the issue, and imported by the server or its libraries at one point or another.
ALWAYS = ("secrets", "json", "typing_extensions", "anyio", "ollama_mcp_tray", "mcp", "httpx2", "pydantic", "h11")

_SHADOW = """import importlib, os, sys
with open(os.path.join({markers!r}, {name!r}), "w") as _marker:
    _marker.write(repr(sys.argv))
_here = os.path.realpath(os.path.dirname(os.path.abspath(__file__)))
_saved = list(sys.path)
sys.path[:] = [p for p in sys.path if os.path.realpath(p or os.curdir) != _here]
del sys.modules[__name__]
try:
    sys.modules[__name__] = importlib.import_module(__name__)
finally:
    sys.path[:] = _saved
"""

_HANDSHAKE = [
    {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    },
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
    {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
]


def modules_imported_at_start(python: str, env: dict[str, str], cwd: Path) -> set[str]:
    """The top-level modules a real start of our server imports (handshake and tools/list), from
    `python -X importtime`, run in a clean folder."""
    stdin = "".join(json.dumps(message) + "\n" for message in _HANDSHAKE)
    done = subprocess.run(
        [python, "-X", "importtime", "-I", "-m", "ollama_mcp_tray.server"],
        input=stdin,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    names = set()
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            module = line.rsplit("|", 1)[1].strip()
            if module.isidentifier() or "." in module:
                names.add(module.split(".")[0])
    assert "anyio" in names and "mcp" in names, done.stderr[-2000:]
    return names


def plant(folder: Path, markers: Path, names: Sequence[str]) -> None:
    """Write a shadowing module for each name into `folder`; their markers go to `markers`."""
    folder.mkdir(parents=True, exist_ok=True)
    markers.mkdir(parents=True, exist_ok=True)
    for name in names:
        if name.isidentifier() and name not in ("site", "sitecustomize", "usercustomize"):
            (folder / f"{name}.py").write_text(_SHADOW.format(markers=str(markers), name=name), encoding="utf-8")


def ran(markers: Path) -> list[str]:
    """The shadowing modules that ran."""
    return sorted(path.name for path in markers.iterdir())
