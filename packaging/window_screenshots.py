#!/usr/bin/env python3
"""Take the README's screenshots of the app's windows: welcome, settings, models, usage, servers.

    python packaging/window_screenshots.py [--out assets]

Each window runs as the app runs it (`ollama-mcp-tray <window>`, a child process) on a throwaway desktop
(Xvfb: `tests/desktop_session.py`) against the Ollama emulator, in a temporary HOME with a few days of usage
records, so nothing touches the real user's files. Needs the dev checkout (it borrows the test helpers) and Tk.

Exit codes: 0 saved, 1 a step failed (the message says which).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ollama_mcp_tray.server.usage import UsageRecord, append_usage  # noqa: E402
from tests.desktop_session import DesktopSession, desktop_session, missing_tools, wait_for  # noqa: E402
from tests.ollama_emulator import OllamaEmulator, default_models  # noqa: E402

WINDOWS = ("welcome", "settings", "models", "usage", "servers")


def say(text: str) -> None:
    sys.stderr.write(text + "\n")


def prepare_home(home: Path, url: str, gpu_url: str | None = None) -> dict[str, str]:
    config = home / ".config" / "ollama-mcp-tray"
    config.mkdir(parents=True, mode=0o700)
    settings: dict[str, object] = {"ollama_url": url}
    if gpu_url:
        # Two saved servers for the servers window: this machine (active) and a GPU box behind a proxy.
        settings["servers"] = [
            {"id": "this-machine", "name": "This machine", "url": url},
            {"id": "gpu-box", "name": "GPU box", "url": gpu_url, "auth_scheme": "bearer"},
        ]
        settings["active_server"] = "this-machine"
        key = config / "servers" / "gpu-box.key"
        key.parent.mkdir(mode=0o700)
        key.write_text("screenshot-key\n", encoding="utf-8")
        key.chmod(0o600)
    (config / "settings.json").write_text(json.dumps(settings), encoding="utf-8")
    usage = home / ".local" / "share" / "ollama-mcp-tray" / "usage.jsonl"
    now = time.time()
    for day in range(7):
        for call in range(2 + (day * 3) % 5):
            model = "qwen2.5-coder:3b" if call % 3 else "llama3.2:latest"
            record = UsageRecord(now - day * 86400 - call * 60, "generate", model, "ok", 1200 + 300 * call, 180)
            append_usage(usage, record)
        # A file tool's call: the local model read the files, Claude got the summary (kept out: the rest).
        kept = 12_000 + 4_000 * day
        record = UsageRecord(now - day * 86400 - 900, "summarize_files", "qwen2.5-coder:3b", "ok", kept, 400)
        append_usage(usage, dataclasses.replace(record, kept_out_tokens=kept - 400))
    return {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
    }


def load_model(url: str, model: str) -> None:
    body = json.dumps({"model": model, "keep_alive": "1h"}).encode("utf-8")
    request = urllib.request.Request(f"{url}/api/generate", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


def window_box(desk: DesktopSession, title: str) -> tuple[int, int, int, int]:
    found = subprocess.run(
        ["xdotool", "search", "--name", title], env=desk.env, capture_output=True, text=True, timeout=10, check=False
    ).stdout.split()
    if not found:
        raise LookupError(title)
    geometry = subprocess.run(
        ["xdotool", "getwindowgeometry", "--shell", found[-1]], env=desk.env, capture_output=True, text=True, timeout=10
    ).stdout
    values = dict(line.split("=", 1) for line in geometry.split())
    x, y, w, h = (int(values[k]) for k in ("X", "Y", "WIDTH", "HEIGHT"))
    return x, y, min(x + w, 800), min(y + h, 600)


TITLES = {
    "welcome": "Welcome to Ollama MCP Tray",
    "settings": "Ollama MCP Tray: settings",
    "models": "Ollama MCP Tray: models",
    "usage": "Ollama MCP Tray: usage",
    "servers": "Ollama MCP Tray: servers",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "assets")
    args = parser.parse_args()
    missing = missing_tools()
    if missing:
        say(f"Missing tools: {', '.join(missing)} (tests/setup/30-desktop.sh installs them).")
        return 1
    with (
        tempfile.TemporaryDirectory() as tmp,
        OllamaEmulator(default_models()) as ollama,
        OllamaEmulator([]) as empty,
        OllamaEmulator(default_models()) as gpu,
    ):
        gpu.faults.update(require_key="screenshot-key", accept_bearer=True)
        env = prepare_home(Path(tmp) / "home", ollama.url, gpu.url)
        load_model(ollama.url, "qwen2.5-coder:3b")  # so the models window shows one in memory
        with desktop_session(Path(tmp) / "desktop", notifications=False) as desk:
            for name in WINDOWS:
                window_env = env
                if name == "welcome":
                    # A new user's view: no model yet, on the page that offers small ones.
                    window_env = prepare_home(Path(tmp) / "new-user", empty.url)
                    window_env["OLLAMA_MCP_TRAY_WINDOW_LAYOUT"] = str(Path(tmp) / "welcome.json")
                proc = desk.spawn([sys.executable, "-m", "ollama_mcp_tray.tray", name], env=window_env, log_name=name)
                try:
                    box = wait_for(lambda n=name: _box_or_none(desk, TITLES[n]), 15, f"the {name} window")
                    if name == "welcome":
                        next_page(desk, Path(tmp) / "welcome.json")
                    time.sleep(2.0)  # its first look at Ollama lands
                    box = window_box(desk, TITLES[name])
                    out = args.out / f"window-{name}.png"
                    desk.screenshot(box).save(out)
                    say(f"Saved {out}")
                except (TimeoutError, LookupError) as exc:
                    say(f"The {name} window did not show: {exc}; see {Path(tmp) / 'desktop' / (name + '.log')}")
                    return 1
                finally:
                    desk.stop(proc)
    return 0


def next_page(desk: DesktopSession, layout: Path) -> None:
    """Wait until the welcome window found Ollama, then press its Next button with the pointer."""

    def found() -> dict[str, int] | None:
        try:
            widgets = json.loads(layout.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return widgets["next"] if widgets.get("ollama_line", {}).get("text", "").startswith("✓") else None

    button = wait_for(found, 15, "the welcome window to find Ollama")
    desk.xdotool("mousemove", str(button["x"] + 10), str(button["y"] + 10))
    desk.xdotool("click", "1")


def _box_or_none(desk: DesktopSession, title: str) -> tuple[int, int, int, int] | None:
    try:
        return window_box(desk, title)
    except LookupError:
        return None


if __name__ == "__main__":
    sys.exit(main())
