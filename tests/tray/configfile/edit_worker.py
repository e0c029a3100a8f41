"""Helper processes for the file-editing fault tests (run with the venv's python).

edit_worker.py increment FILE DATA_DIR N        add 1 to "count" N times through SafeEditor
edit_worker.py toggle FILE DATA_DIR             enable/disable our user-scope entry forever (until killed)
edit_worker.py rewrite FILE atomic|plain STOP   rewrite FILE whole, like Claude Code, until STOP exists
edit_worker.py claude FILE STOP                 add 1 to "claudeCounter" under Claude Code's lock until STOP
                                                exists; prints how many updates it made
"""

from __future__ import annotations

import json
import os
import random
import sys
import threading
import time
from pathlib import Path

from ollama_mcp_tray.server.paths import AppPaths
from ollama_mcp_tray.tray.clients.claude_code import ClaudeHome
from ollama_mcp_tray.tray.clients.registrar import Registrar, Scope, Target
from ollama_mcp_tray.tray.configfile.json_document import Document
from ollama_mcp_tray.tray.configfile.safe_edit import SafeEditor
from ollama_mcp_tray.tray.launch import ServerLaunch


def editor(data_dir: Path) -> SafeEditor:
    return SafeEditor(backups_dir=data_dir / "backups", lock_dir=data_dir / "locks", keep_backups=3)


def increment(path: Path, data_dir: Path, times: int) -> None:
    def bump(text: str | None) -> str:
        doc = Document(text or "{}")
        return doc.set((), "count", int(doc.value.get("count", 0)) + 1)

    for _ in range(times):
        editor(data_dir).edit(path, bump)


def toggle(path: Path, data_dir: Path) -> None:
    paths = AppPaths(config_dir=data_dir / "config", data_dir=data_dir, log_dir=data_dir / "log")
    registrar = Registrar(paths, ClaudeHome(path.parent / ".claude", path), ServerLaunch(sys.executable, ("-m", "x")))
    target = Target(Scope.USER, "ollama")
    print("ready", flush=True)
    while True:
        registrar.enable(target)
        registrar.disable(target)


def rewrite(path: Path, how: str, stop: Path) -> None:
    pause = threading.Event()
    counter = 0
    while not stop.exists():
        counter += 1
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, FileNotFoundError):
            doc = {}
        # Claude Code keeps what it read and sets its own keys; so does this writer.
        doc["writerCounter"] = counter
        doc["writerBlob"] = "w" * 20000
        data = json.dumps(doc, indent=2)
        if how == "atomic":
            tmp = path.with_name(f".{path.name}.writer.tmp")
            tmp.write_text(data, encoding="utf-8")
            os.replace(tmp, path)
        else:
            with path.open("w", encoding="utf-8") as handle:
                for start in range(0, len(data), 4096):
                    handle.write(data[start : start + 4096])
                    handle.flush()
        pause.wait(0.01)


def claude(path: Path, stop: Path) -> None:
    """Claude Code's protocol (2.1.330): mkdir <file>.lock (a lock whose mtime is over 10 s old is stale: rmdir
    it), re-read under the lock, change one key, write a temp file, fsync, rename, rmdir the lock."""
    lock = Path(f"{path}.lock")
    rng = random.Random(os.getpid())
    pause = threading.Event()
    updates = 0
    while not stop.exists():
        try:
            os.mkdir(lock)
        except FileExistsError:
            try:
                if os.stat(lock).st_mtime < time.time() - 10:
                    os.rmdir(lock)
            except FileNotFoundError:
                pass
            pause.wait(0.001)
            continue
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            doc["claudeCounter"] = doc.get("claudeCounter", 0) + 1
            tmp = path.with_name(f"{path.name}.tmp.{os.getpid()}.{rng.getrandbits(24):06x}")
            with tmp.open("w", encoding="utf-8") as handle:
                handle.write(json.dumps(doc, indent=2))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
            updates += 1
        finally:
            os.rmdir(lock)
        pause.wait(rng.uniform(0.002, 0.02))  # Claude Code writes often, not back to back
    print(updates, flush=True)


if __name__ == "__main__":
    command, *rest = sys.argv[1:]
    if command == "increment":
        increment(Path(rest[0]), Path(rest[1]), int(rest[2]))
    elif command == "toggle":
        toggle(Path(rest[0]), Path(rest[1]))
    elif command == "rewrite":
        rewrite(Path(rest[0]), rest[1], Path(rest[2]))
    elif command == "claude":
        claude(Path(rest[0]), Path(rest[1]))
