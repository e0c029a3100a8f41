"""End to end with the real Claude Code CLI (2.1.330): after `enable` it sees our server Connected, after
`disable` it is gone, in every scope, and `doctor` agrees. Runs offline in a temporary HOME."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import shadow_modules
from tests.pinned_claude import pinned_claude

pytestmark = pytest.mark.claude


@pytest.fixture(scope="session")
def claude_bin() -> Path:
    return pinned_claude()


@dataclass
class Home:
    """A temporary user: HOME, our CLI and the claude CLI run inside it."""

    root: Path
    env: dict[str, str]
    claude: Path

    def tray(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ollama_mcp_tray.tray", *args],
            cwd=cwd or self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def claude_cli(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.claude), *args],
            cwd=cwd or self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )

    @property
    def claude_json(self) -> Path:
        return self.root / ".claude.json"

    def put_server_on_path(self) -> Path:
        """What our installer (or pipx, or uv tool) does: `ollama-mcp-server` in ~/.local/bin, on PATH."""
        folder = self.root / ".local" / "bin"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "ollama-mcp-server").symlink_to(Path(sys.executable).parent / "ollama-mcp-server")
        self.env["PATH"] = f"{folder}{os.pathsep}{self.env['PATH']}"
        return folder / "ollama-mcp-server"

    def accept_trust_dialog(self, folder: Path) -> None:
        """What Claude Code records when the user accepts its trust dialog for `folder`."""
        document = json.loads(self.claude_json.read_text(encoding="utf-8")) if self.claude_json.exists() else {}
        project = document.setdefault("projects", {}).setdefault(os.path.realpath(folder), {})
        project["hasTrustDialogAccepted"] = True
        self.claude_json.write_text(json.dumps(document, indent=2), encoding="utf-8")


@pytest.fixture
def home(tmp_path: Path, claude_bin: Path, ollama) -> Iterator[Home]:
    root = tmp_path / "home"
    root.mkdir()
    env = {
        "HOME": str(root),
        "PATH": "/usr/bin:/bin",
        "CLAUDE_BIN": str(claude_bin),
        "LANG": "C.UTF-8",
        "OLLAMA_MCP_RESIDENT": "0",  # the suite runs direct servers (tests/conftest.py)
    }
    result = Home(root, env, claude_bin)
    configured = result.tray("config", "set", "ollama_url", ollama.url)
    assert configured.returncode == 0, configured.stderr
    yield result


def status_line(output: str) -> str:
    return next(line.strip() for line in output.splitlines() if line.strip().startswith("Status:"))


def test_user_scope_is_connected_in_claude_code_after_enable_and_gone_after_disable(home):
    enabled = home.tray("enable")
    assert enabled.returncode == 0, enabled.stderr
    listed = home.claude_cli("mcp", "list")
    assert "ollama: " in listed.stdout
    assert "✔ Connected" in listed.stdout
    got = home.claude_cli("mcp", "get", "ollama")
    assert got.returncode == 0
    assert "Scope: User config" in got.stdout
    assert status_line(got.stdout) == "Status: ✔ Connected"

    doctor = home.tray("doctor", "--json")
    report = json.loads(doctor.stdout)
    assert doctor.returncode == 0, doctor.stdout
    assert {"name": "claude mcp get ollama (user scope)", "ok": True, "detail": "Connected", "fix": None} in report[
        "checks"
    ]

    disabled = home.tray("disable")
    assert disabled.returncode == 0, disabled.stderr
    gone = home.claude_cli("mcp", "get", "ollama")
    assert gone.returncode == 1
    assert 'No MCP server named "ollama"' in gone.stdout + gone.stderr
    after = home.tray("doctor")
    assert after.returncode == 1
    assert "not registered in any scope" in after.stdout


def test_local_scope_is_connected_only_in_its_project(home):
    project = home.root / "work" / "app"
    project.mkdir(parents=True)
    enabled = home.tray("enable", "--scope", "local", "--project", str(project))
    assert enabled.returncode == 0, enabled.stderr
    got = home.claude_cli("mcp", "get", "ollama", cwd=project)
    assert "Scope: Local config" in got.stdout
    assert status_line(got.stdout) == "Status: ✔ Connected"
    assert home.claude_cli("mcp", "get", "ollama").returncode == 1  # elsewhere it is not registered

    assert home.tray("disable", "--scope", "local", "--project", str(project)).returncode == 0
    assert home.claude_cli("mcp", "get", "ollama", cwd=project).returncode == 1


def test_project_scope_connects_once_approved_and_the_user_trusted_the_folder(home):
    home.put_server_on_path()
    project = home.root / "shared-repo"
    project.mkdir()
    enabled = home.tray("enable", "--scope", "project", "--project", str(project), "--approve")
    assert enabled.returncode == 0, enabled.stderr
    assert "not yet trusted" in enabled.stdout
    mcp_json = json.loads((project / ".mcp.json").read_text(encoding="utf-8"))
    assert mcp_json["mcpServers"]["ollama"]["env"]["OLLAMA_URL"].startswith("${OLLAMA_URL:-http://127.0.0.1:")
    assert json.loads((project / ".claude" / "settings.local.json").read_text(encoding="utf-8")) == {
        "enabledMcpjsonServers": ["ollama"]
    }

    pending = home.claude_cli("mcp", "get", "ollama", cwd=project)
    assert "Pending approval" in status_line(pending.stdout)
    home.accept_trust_dialog(project)
    got = home.claude_cli("mcp", "get", "ollama", cwd=project)
    assert "Scope: Project config" in got.stdout
    assert status_line(got.stdout) == "Status: ✔ Connected"

    status = json.loads(home.tray("status", "--json").stdout)
    [registration] = [r for r in status["registrations"] if r["scope"] == "project"]
    assert registration["state"] == "ours-current"
    assert registration["approved"] is True
    assert registration["trusted"] is True

    assert home.tray("disable", "--scope", "project", "--project", str(project)).returncode == 0
    assert home.claude_cli("mcp", "get", "ollama", cwd=project).returncode == 1
    # What enable created goes again once empty: the .mcp.json, the approval file, the .claude folder.
    assert sorted(p.name for p in project.iterdir()) == []


def test_claude_config_dir_moves_the_registration_and_claude_code_follows(home):
    config_dir = home.root / "custom-claude"
    home.env["CLAUDE_CONFIG_DIR"] = str(config_dir)
    assert home.tray("enable").returncode == 0
    assert (config_dir / ".claude.json").is_file()
    assert not home.claude_json.exists()
    got = home.claude_cli("mcp", "get", "ollama")
    assert status_line(got.stdout) == "Status: ✔ Connected"


def old_entry() -> dict[str, object]:
    """What enable wrote before isolated mode: `python -m` puts the working folder first on sys.path."""
    return {"type": "stdio", "command": sys.executable, "args": ["-m", "ollama_mcp_tray.server"], "env": {}}


@pytest.fixture
def hostile_repo(home: Home) -> tuple[Path, Path]:
    """A cloned repository whose files shadow every module our server imports at start; (folder, markers)."""
    names = shadow_modules.modules_imported_at_start(sys.executable, {**home.env, "PATH": "/usr/bin:/bin"}, home.root)
    folder, markers = home.root / "hostile-repo", home.root / "markers"
    shadow_modules.plant(folder, markers, sorted(names | set(shadow_modules.ALWAYS)))
    return folder, markers


def test_claude_code_starts_our_server_in_a_hostile_folder_and_none_of_its_modules_run(home, hostile_repo):
    folder, markers = hostile_repo
    home.put_server_on_path()
    assert home.tray("enable").returncode == 0
    shared = home.tray("enable", "--scope", "project", "--project", str(folder), "--approve", "--name", "shared")
    assert shared.returncode == 0, shared.stderr
    home.accept_trust_dialog(folder)
    listed = home.claude_cli("mcp", "list", cwd=folder)
    assert "ollama: " in listed.stdout and "shared: " in listed.stdout, listed.stdout
    assert listed.stdout.count("✔ Connected") == 2, listed.stdout
    assert shadow_modules.ran(markers) == []


def test_with_the_old_command_claude_code_ran_the_folders_modules(home, hostile_repo):
    """The same check on the entry enable wrote before: it bites."""
    folder, markers = hostile_repo
    home.claude_json.write_text(json.dumps({"mcpServers": {"ollama": old_entry()}}), encoding="utf-8")
    listed = home.claude_cli("mcp", "list", cwd=folder)
    assert "✔ Connected" in listed.stdout
    assert {"ollama_mcp_tray", "anyio", "mcp"} <= set(shadow_modules.ran(markers))


def test_repair_upgrades_an_old_entry_to_the_isolated_command_and_says_so(home):
    assert home.tray("enable").returncode == 0
    document = json.loads(home.claude_json.read_text(encoding="utf-8"))
    url = document["mcpServers"]["ollama"]["env"]
    document["mcpServers"]["ollama"] = {**old_entry(), "env": url}
    home.claude_json.write_text(json.dumps(document), encoding="utf-8")
    status = json.loads(home.tray("status", "--json").stdout)
    [user] = [r for r in status["registrations"] if r["scope"] == "user"]
    assert (user["state"], user["up_to_date"]) == ("ours-current", False)

    repaired = home.tray("repair")
    assert repaired.returncode == 0, repaired.stderr
    assert "Updated the Claude Code registration (user scope) to start the server isolated" in repaired.stdout
    entry = json.loads(home.claude_json.read_text(encoding="utf-8"))["mcpServers"]["ollama"]
    assert entry["args"] == ["-I", "-m", "ollama_mcp_tray.server"]
    assert status_line(home.claude_cli("mcp", "get", "ollama").stdout) == "Status: ✔ Connected"


def test_a_shared_mcp_json_names_no_path_of_ours_and_connects_for_whoever_has_the_server(home):
    project = home.root / "team-repo"
    project.mkdir()
    assert home.tray("enable", "--scope", "project", "--project", str(project), "--approve").returncode == 0
    home.accept_trust_dialog(project)
    text = (project / ".mcp.json").read_text(encoding="utf-8")
    assert str(home.root) not in text and sys.executable not in text
    assert json.loads(text)["mcpServers"]["ollama"]["command"] == "${OLLAMA_MCP_SERVER:-ollama-mcp-server}"

    # Not on PATH: Claude Code says so, and so do status and repair.
    missing = home.claude_cli("mcp", "get", "ollama", cwd=project)
    assert "Failed to connect" in status_line(missing.stdout)
    assert "Executable not found in $PATH" in missing.stdout
    [shared] = [r for r in json.loads(home.tray("status", "--json").stdout)["registrations"] if r["scope"] == "project"]
    assert shared["state"] == "ours-stale"
    repaired = home.tray("repair")
    assert repaired.returncode == 1
    assert "`ollama-mcp-server` is not on PATH" in repaired.stdout and "OLLAMA_MCP_SERVER" in repaired.stdout
    assert (project / ".mcp.json").read_text(encoding="utf-8") == text

    # The variable, for a teammate whose server lives elsewhere.
    home.env["OLLAMA_MCP_SERVER"] = str(Path(sys.executable).parent / "ollama-mcp-server")
    got = home.claude_cli("mcp", "get", "ollama", cwd=project)
    assert status_line(got.stdout) == "Status: ✔ Connected"
    del home.env["OLLAMA_MCP_SERVER"]

    # On PATH, as the installer, pipx and uv tool put it: connected, and ours and current for status.
    home.put_server_on_path()
    got = home.claude_cli("mcp", "get", "ollama", cwd=project)
    assert status_line(got.stdout) == "Status: ✔ Connected"
    [shared] = [r for r in json.loads(home.tray("status", "--json").stdout)["registrations"] if r["scope"] == "project"]
    assert (shared["state"], shared["up_to_date"]) == ("ours-current", True)
