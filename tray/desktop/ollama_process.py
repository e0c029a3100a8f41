"""Find an `ollama` executable and start `ollama serve` detached, logging to a file.

The tray starts Ollama only when the user asks, and never stops an Ollama it did not start: the process
started here is detached (its own session / process group), so it keeps running after the tray quits, as if
the user had started it from a terminal.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from ollama_mcp_tray.server.paths import open_private

# Where installers put the binary when it is not on the PATH a desktop session hands to autostarted apps.
_WELL_KNOWN = {
    "linux": ["/usr/local/bin/ollama", "/usr/bin/ollama", "~/.local/bin/ollama"],
    "darwin": [
        "/usr/local/bin/ollama",
        "/opt/homebrew/bin/ollama",
        "/Applications/Ollama.app/Contents/Resources/ollama",
    ],
    "win32": ["~/AppData/Local/Programs/Ollama/ollama.exe"],
}


def find_ollama(env: Mapping[str, str] | None = None, platform: str = sys.platform) -> str | None:
    """The absolute path of an `ollama` executable, or None."""
    env = os.environ if env is None else env
    found = shutil.which("ollama", path=env.get("PATH"))
    if found:
        return str(Path(found).absolute())
    key = "linux" if platform.startswith("linux") else platform
    for candidate in _WELL_KNOWN.get(key, []):
        path = Path(candidate).expanduser()
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    return None


def serve_environment(base_url: str, env: Mapping[str, str]) -> dict[str, str]:
    """The environment for `ollama serve`: it listens where the tray looks (OLLAMA_HOST from our URL)."""
    host = base_url.split("://", 1)[-1].rstrip("/")
    return {**env, "OLLAMA_HOST": host}


def start_ollama(
    executable: str, log_file: Path, base_url: str, env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start `<executable> serve` detached, with stdout and stderr appended to `log_file`.

    Raises:
        OSError: the executable could not be started.
    """
    environment = serve_environment(base_url, os.environ if env is None else env)
    with os.fdopen(open_private(log_file, os.O_WRONLY | os.O_APPEND), "ab") as log:
        if sys.platform == "win32":
            flags = subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.DETACHED_PROCESS | subprocess.CREATE_NO_WINDOW
            return subprocess.Popen(
                [executable, "serve"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=environment,
                creationflags=flags,
            )
        return subprocess.Popen(
            [executable, "serve"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment,
            start_new_session=True,
        )
