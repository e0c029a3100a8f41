#!/usr/bin/env python3
"""Take the README's screenshot: the real tray, docked in a real tray host, with its menu open.

    python packaging/screenshot.py [--out assets/screenshot.png] [--submenu Models]

Runs on a throwaway desktop (Xvfb, tint2, dunst, a private D-Bus: `tests/desktop_session.py`, whose tools
`tests/setup/30-desktop.sh` installs) against the Ollama emulator (`tests/ollama_emulator.py`) with one
model loaded, in a temporary HOME where the server is already enabled for Claude Code. Nothing touches the
real user's files. Needs the dev checkout (it borrows the test helpers) and PyGObject for the gtk backend.

Exit codes: 0 saved, 1 a step failed (the message says which; the session's logs are kept and named).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ollama_mcp_tray.server.ollama_client import ModelInfo, OllamaSnapshot  # noqa: E402
from ollama_mcp_tray.tray.gui import menu_model  # noqa: E402
from ollama_mcp_tray.tray.gui.state import TrayState  # noqa: E402
from tests.desktop_session import DesktopSession, Rect, desktop_session, missing_tools, wait_for  # noqa: E402
from tests.ollama_emulator import OllamaEmulator, default_models  # noqa: E402

MARGIN = 12
LOADED_MODEL = "qwen2.5-coder:3b"


def say(text: str) -> None:
    """Progress for the person taking the screenshot."""
    sys.stderr.write(text + "\n")


def load_model(url: str, model: str) -> None:
    """Ask Ollama to load a model (a generate request with no prompt), so the icon shows `loaded`."""
    body = json.dumps({"model": model, "keep_alive": "1h"}).encode("utf-8")
    request = urllib.request.Request(f"{url}/api/generate", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


def submenu_steps(name: str) -> int:
    """Keyboard steps to an item of the top menu, counted on a menu of the same shape as the app's."""
    model = ModelInfo(LOADED_MODEL, 1, "", None, None, None, None, (), None)
    shape = TrayState("http://x", OllamaSnapshot("http://x", "1", (model,), ()))
    menu = menu_model.build_menu(shape, dt.datetime.now(dt.timezone.utc))
    return menu_model.selectable_path(menu, name)[0]


def union(rects: Sequence[Rect], width: int, height: int) -> tuple[int, int, int, int]:
    """The box around all rectangles plus a margin, inside the screen."""
    left = max(0, min(r.x for r in rects) - MARGIN)
    top = max(0, min(r.y for r in rects) - MARGIN)
    right = min(width, max(r.x + r.width for r in rects) + MARGIN)
    bottom = min(height, max(r.y + r.height for r in rects) + MARGIN)
    return left, top, right, bottom


def capture(desk: DesktopSession, home: Path, url: str, out: Path, submenu: str | None) -> None:
    env = {"HOME": str(home), "OLLAMA_URL": url, "PYSTRAY_BACKEND": "gtk"}
    for argv in (["enable"], ["config", "set", "default_model", LOADED_MODEL]):
        done = subprocess.run(
            [sys.executable, "-m", "ollama_mcp_tray.tray", *argv],
            env={**desk.env, **env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"`ollama-mcp-tray {' '.join(argv)}` failed: {done.stdout}{done.stderr}")
    desk.spawn([sys.executable, "-m", "ollama_mcp_tray.tray.gui.app"], env=env, log_name="tray")
    icon = desk.wait_for_docked_icon(timeout=15)
    # Let the first poll land so the icon and menu show the loaded model, not "checking".
    wait_for(lambda: desk.icon_drawn(icon), 10, "the icon to draw")
    say(f"docked at {icon}")
    desk.click(icon.center, button=3)
    wait_for(lambda: len(desk.popup_windows()) == 1, 5, "the menu to open")
    if submenu:
        for _ in range(submenu_steps(submenu) + 1):
            desk.xdotool("key", "Down")
        desk.xdotool("key", "Right")
        wait_for(lambda: len(desk.popup_windows()) == 2, 5, f"the {submenu} submenu to open")
    popups = desk.popup_windows()
    screen = desk.screenshot()
    box = union([icon, *popups], screen.width, screen.height)
    # Keep the panel's full height above the icon so the shot reads as a panel.
    box = (box[0], 0, box[2], box[3])
    out.parent.mkdir(parents=True, exist_ok=True)
    desk.screenshot(box).convert("RGB").save(out, format="PNG", optimize=True)
    desk.xdotool("key", "Escape")


def main(argv: Sequence[str] | None = None) -> int:
    """Take the screenshot."""
    parser = argparse.ArgumentParser(description="Screenshot the tray with its menu open.")
    parser.add_argument("--out", type=Path, default=ROOT / "assets" / "screenshot.png")
    parser.add_argument("--submenu", default="Models", help="open this top-level submenu too ('' for none)")
    args = parser.parse_args(argv)
    missing = missing_tools()
    if missing:
        say(f"Missing desktop tools: {', '.join(missing)} (tests/setup/30-desktop.sh installs them).")
        return 1
    logs = Path(tempfile.mkdtemp(prefix="ollama-mcp-tray-shot-"))
    home = logs / "home"
    home.mkdir()
    (home / ".claude.json").write_text("{}\n", encoding="utf-8")
    try:
        with OllamaEmulator(default_models()) as emulator:
            load_model(emulator.url, LOADED_MODEL)
            with desktop_session(logs / "desktop") as desk:
                capture(desk, home, emulator.url, args.out, args.submenu or None)
    except (RuntimeError, TimeoutError, OSError) as exc:
        say(f"Screenshot failed: {exc}. Logs are in {logs}.")
        return 1
    say(f"Saved {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
