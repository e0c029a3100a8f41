"""The server must start bare: it never imports the tray, pystray or Pillow (DESIGN.md rule 1), and its start
does not pay for libraries only some tools use (jsonschema, pathspec): those tools import them when they run."""

import ast
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import mcp_types
import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

from tests.ollama_emulator import OllamaEmulator
from tests.server.material_tree import make_tree
from tests.server.test_stdio import server_env

SERVER_DIR = Path(__file__).resolve().parents[2] / "server"
FORBIDDEN = ("pystray", "PIL", "ollama_mcp_tray.tray", "tkinter", "gi")
# Imported by the tools that need them, never by the server's start (each costs it tens of milliseconds or more).
LAZY = ("jsonschema", "pathspec")


def test_running_the_server_modules_loads_no_gui_or_tray_module():
    code = (
        "import sys, ollama_mcp_tray.server.__main__, ollama_mcp_tray.server.app;"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r} or m.startswith('ollama_mcp_tray.tray')];"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"server imported {out}"


def test_building_the_server_imports_no_library_that_only_some_tools_use() -> None:
    code = (
        "import sys, ollama_mcp_tray.server.__main__;"
        "from ollama_mcp_tray.server.app import build_server;"
        "from ollama_mcp_tray.server.config import ServerConfig;"
        "from ollama_mcp_tray.server.paths import AppPaths;"
        "build_server(ServerConfig(), AppPaths.default());"  # HOME and XDG folders: the test's own (conftest)
        f"print(','.join(sorted({{m.split('.')[0] for m in sys.modules}} & set({LAZY!r}))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"building the server imported {out}"


def imported(log: str) -> set[str]:
    """Top-level package names from a `python -X importtime` log."""
    names = set()
    for line in log.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name and name != "imported package":
                names.add(name.split(".")[0])
    return names


@pytest.mark.anyio
async def test_a_started_server_answers_tools_list_without_them_and_a_material_tool_imports_pathspec(
    tmp_path: Path, ollama: OllamaEmulator
) -> None:
    tree = make_tree(tmp_path / "work")
    log = tmp_path / "importtime.log"
    params = StdioServerParameters(
        command=sys.executable,
        args=["-X", "importtime", "-m", "ollama_mcp_tray.server"],
        env=server_env(tmp_path, ollama.url),
        cwd=str(tree.root),
    )

    async def list_roots(context: Any) -> mcp_types.ListRootsResult:
        return mcp_types.ListRootsResult(roots=[mcp_types.Root(uri=tree.root.as_uri(), name="project")])

    with log.open("w", encoding="utf-8") as errlog, anyio.fail_after(90):
        async with Client(stdio_client(params, errlog=errlog), list_roots_callback=list_roots) as client:
            assert "ollama_summarize_files" in {t.name for t in (await client.list_tools()).tools}
            await client.call_tool("ollama_ps", {})
            at_start = imported(log.read_text(encoding="utf-8"))
            result = await client.call_tool("ollama_summarize_files", {"paths": ["."]})
            assert not result.is_error
            after_tool = imported(log.read_text(encoding="utf-8"))
    assert "mcp" in at_start and "h11" in at_start, "the log does show the server's imports"
    assert at_start & set(LAZY) == set(), f"the server's start imported {at_start & set(LAZY)}"
    assert "pathspec" in after_tool, "a folder walk honours .gitignore with pathspec, imported when needed"
    assert {s["path"] for s in result.structured_content["skipped"]} >= {"build/", "notes.tmp"}


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
