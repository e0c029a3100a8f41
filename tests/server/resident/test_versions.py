"""Upgrades: a relay of another build retires the resident (which finishes its sessions, then exits) and a
resident of the new build takes over; an older relay leaves a newer resident alone and serves itself."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import anyio
import pytest
from mcp.client import Client

from ollama_mcp_tray.server import __version__
from tests.server.resident.kit import ResidentKit

pytestmark = pytest.mark.anyio
SERVER = Path(__file__).resolve().parents[3] / "server"
ENTRY = """import sys
sys.path.insert(0, {root!r})
from ollama_mcp_tray.server.__main__ import main
sys.exit(main())
"""


def upgraded_install(folder: Path, version: str) -> list[str]:
    """A copy of this server package with another version: the command that starts it."""
    package = folder / "ollama_mcp_tray" / "server"
    shutil.copytree(SERVER, package, ignore=shutil.ignore_patterns("__pycache__"))
    (package / "_version.py").write_text(f'__version__ = "{version}"\n', encoding="utf-8")
    entry = folder / "serve.py"
    entry.write_text(ENTRY.format(root=str(folder)), encoding="utf-8")
    return [sys.executable, "-I", str(entry)]


async def test_an_upgraded_relay_retires_the_old_resident_after_its_sessions_and_a_new_one_serves(
    kit: ResidentKit, tmp_path: Path
):
    old = kit.start_resident()
    upgraded = upgraded_install(tmp_path / "v2", "99.0.0")
    with anyio.fail_after(120):
        async with Client(kit.params()) as running:  # a session of the old build, open during the upgrade
            assert not (await running.call_tool("ollama_ps", {})).is_error
            assert kit.wait_status(pid=old).sessions == 1
            async with Client(kit.params(upgraded)) as new:
                assert not (await new.call_tool("ollama_ps", {})).is_error
            # The old resident retired: its socket is gone, but its session still works.
            assert not (await running.call_tool("ollama_list_models", {})).is_error
        kit.wait_gone(old)
        status = kit.wait_status(timeout=60)
        assert status.version == "99.0.0" and status.pid != old
        # An older relay (this build) does not retire the newer resident: it serves its session itself.
        async with Client(kit.params()) as older:
            assert not (await older.call_tool("ollama_ps", {})).is_error
        after = kit.wait_status(pid=status.pid)
        assert after.version == "99.0.0" and not after.retiring
    assert "refused an older relay" in kit.log_text()
    assert "a relay of build 99.0.0+" in kit.log_text() and __version__ != "99.0.0"
