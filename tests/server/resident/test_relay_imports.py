"""The relay imports only the standard library and nothing from the folder it is started in."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests import shadow_modules
from tests.server.resident.kit import REGISTERED, ResidentKit, converse

TOOLS_LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
OURS_IN_THE_RELAY = {
    "ollama_mcp_tray",
    "ollama_mcp_tray.server",
    "ollama_mcp_tray.server.__main__",
    "ollama_mcp_tray.server._version",
    "ollama_mcp_tray.server.resident",
}


def imported(stderr: str) -> set[str]:
    """Module names from `-X importtime` lines."""
    return {
        line.rsplit("|", 1)[1].strip()
        for line in stderr.splitlines()
        if line.startswith("import time:") and "|" in line and "self [us]" not in line
    }


def test_served_by_a_resident_the_relay_imports_only_the_standard_library(kit: ResidentKit):
    kit.start_resident()
    home = Path(kit.env["HOME"])
    answers, stderr = converse([sys.executable, "-X", "importtime", *REGISTERED[1:]], kit.env, home, [TOOLS_LIST])
    assert answers[1]["result"]["tools"]  # type: ignore[index]
    modules = imported(stderr)
    baseline = subprocess.run(
        [sys.executable, "-X", "importtime", "-I", "-c", "pass"],
        env=kit.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    ours = modules - imported(baseline.stderr)  # what the interpreter's own start (site, .pth files) imports aside
    foreign = sorted(
        name
        for name in ours
        if name.split(".")[0] not in {*sys.stdlib_module_names, "org"}  # org.python.core: a Jython probe in copy
        and name not in OURS_IN_THE_RELAY
        and not name.startswith("ollama_mcp_tray.server.resident.")
    )
    assert foreign == [], foreign
    assert "ollama_mcp_tray.server.resident.relay" in ours
    assert "ollama_mcp_tray.server.resident.service" not in ours and "ollama_mcp_tray.server.app" not in ours


def test_the_relay_started_in_a_hostile_folder_runs_none_of_its_modules(kit: ResidentKit, tmp_path: Path):
    kit.start_resident()
    folder, markers = tmp_path / "repo", tmp_path / "markers"
    relay_modules = [name for name in sys.stdlib_module_names if not name.startswith("_")]
    shadow_modules.plant(folder, markers, sorted({*shadow_modules.ALWAYS, *relay_modules}))
    answers, stderr = converse(REGISTERED, kit.env, folder, [TOOLS_LIST, {**TOOLS_LIST, "id": 2}])
    assert [a["id"] for a in answers] == [0, 1, 2], stderr
    assert shadow_modules.ran(markers) == []
    assert kit.wait_status().sessions == 0  # it was the resident's session, now over
