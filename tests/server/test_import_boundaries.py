"""The server must start bare: it never imports the tray, pystray or Pillow (DESIGN.md rule 1)."""

import ast
import subprocess
import sys
from pathlib import Path

SERVER_DIR = Path(__file__).resolve().parents[2] / "server"
FORBIDDEN = ("pystray", "PIL", "ollama_mcp_tray.tray", "tkinter", "gi")


def test_running_the_server_modules_loads_no_gui_or_tray_module():
    code = (
        "import sys, ollama_mcp_tray.server.__main__, ollama_mcp_tray.server.app;"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r} or m.startswith('ollama_mcp_tray.tray')];"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"server imported {out}"


def test_no_server_source_file_names_a_gui_or_tray_import():
    offenders = []
    for path in SERVER_DIR.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = ["." * node.level + (node.module or "")]
            for name in names:
                if name.split(".")[0] in FORBIDDEN or "tray" in name.split("."):
                    offenders.append(f"{path.name}: {name}")
    assert offenders == []
