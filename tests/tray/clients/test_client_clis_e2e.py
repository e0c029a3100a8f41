"""End to end with the real clients' CLIs: `ollama-mcp-tray enable --client X` makes X's own CLI list our server
Connected (Codex: enabled), `disable --client X` makes it gone, and the user's file is then byte-identical to
what it was, comments and formatting included. Offline, in a temporary HOME (see client_clis.py).

Each user file starts as a user's would look after the client has run once: the client's own additions (Qwen
Code's `"$version"`, opencode's `"$schema"`) are in it, since the client would otherwise add them during the
listing and the comparison would measure the client, not us (CLIENT_FACTS.md, "Files the clients write").
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.ollama_emulator import OllamaEmulator
from tests.tray.clients.client_clis import (
    CLIENTS_BIN,
    CODEX,
    GEMINI,
    OPENCODE,
    QWEN,
    ClientCli,
    ClientHome,
    Status,
    run_bounded,
)
from tests.tray.clients.test_client_clis import require, server_log

pytestmark = pytest.mark.clients

SERVER_NAME = "ollama"


@dataclass(frozen=True)
class Case:
    """One client: its name for `--client`, its CLI, where its user file is and what the user had in it."""

    client: str
    cli: ClientCli
    file: Callable[[ClientHome], Path]
    before: str


# Each file holds the user's own settings, comments and another server of theirs, in that client's format.
CASES = [
    Case(
        "gemini",
        GEMINI,
        lambda home: home.gemini_settings,
        """{
  // my Gemini settings
  "ui": {"theme": "GitHub"},   // kept as I wrote it
  "mcpServers": {
    "theirs": {"command": "true", "args": ["--flag"]}
  }
}
""",
    ),
    Case(
        "qwen",
        QWEN,
        lambda home: home.qwen_settings,
        """{
  // my Qwen settings
  "$version": 4,
  "mcpServers": {
    "theirs": {"command": "true"}
  },
  "ui": {"theme": "Qwen Dark"}
}
""",
    ),
    Case(
        "opencode",
        OPENCODE,
        lambda home: home.opencode_config,
        """{
  "$schema": "https://opencode.ai/config.json",
  // my opencode settings
  "autoupdate": false,
  "mcp": {
    "theirs": {"type": "local", "command": ["true"], "enabled": false,},
  },
}
""",
    ),
    Case(
        "codex",
        CODEX,
        lambda home: home.codex_config,
        """# my Codex settings
model = "o3"   # the one I pay for

[mcp_servers.theirs]
command = "true"
enabled = false

[projects."/somewhere"]
trust_level = "trusted"
""",
    ),
]


def tray(home: ClientHome, *args: str) -> subprocess.CompletedProcess[str]:
    """Our CLI as the user runs it, in the same HOME as the clients, with the clients' programs on PATH."""
    env = home.env()
    env["PATH"] = f"{CLIENTS_BIN}:{env['PATH']}"
    return run_bounded([sys.executable, "-m", "ollama_mcp_tray.tray", *args], cwd=home.project, env=env, timeout=120)


@pytest.mark.parametrize("case", CASES, ids=[case.client for case in CASES])
def test_enable_makes_the_client_list_us_and_disable_gives_back_the_users_file(
    case: Case, tmp_path: Path, ollama: OllamaEmulator
) -> None:
    require(case.cli)
    home = ClientHome.create(tmp_path)
    file = case.file(home)
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(case.before, encoding="utf-8")
    configured = tray(home, "config", "set", "ollama_url", ollama.url)
    assert configured.returncode == 0, configured.stderr

    enabled = tray(home, "enable", "--client", case.client)
    assert enabled.returncode == 0, enabled.stdout + enabled.stderr
    after_enable = file.read_bytes()

    ours = home.wait_listed(case.cli, SERVER_NAME, case.cli.listed_ok)
    assert ours is not None, home.list_servers(case.cli)
    assert ours.status is case.cli.listed_ok, ours
    if case.cli is not CODEX:  # Codex starts nothing to list
        assert f"for {ollama.url}" in server_log(home), server_log(home)
    assert "theirs" in home.list_servers(case.cli)
    # The client itself left the file alone while listing, so what disable sees is what enable wrote.
    assert file.read_bytes() == after_enable

    disabled = tray(home, "disable", "--client", case.client)
    assert disabled.returncode == 0, disabled.stdout + disabled.stderr

    assert file.read_text(encoding="utf-8") == case.before
    listed = home.list_servers(case.cli)
    assert SERVER_NAME not in listed, listed[SERVER_NAME]
    assert "theirs" in listed


@pytest.mark.parametrize("case", CASES, ids=[case.client for case in CASES])
def test_enable_in_a_fresh_home_creates_a_file_the_client_reads(
    case: Case, tmp_path: Path, ollama: OllamaEmulator
) -> None:
    require(case.cli)
    home = ClientHome.create(tmp_path)
    file = case.file(home)
    assert tray(home, "config", "set", "ollama_url", ollama.url).returncode == 0

    enabled = tray(home, "enable", "--client", case.client)
    assert enabled.returncode == 0, enabled.stdout + enabled.stderr
    # A file we create is the user's alone (checked before the client runs: Qwen Code's own migration rewrites
    # the file with its default mode).
    assert (file.stat().st_mode & 0o077) == 0, oct(file.stat().st_mode)

    ours = home.wait_listed(case.cli, SERVER_NAME, case.cli.listed_ok)
    assert ours is not None and ours.status is case.cli.listed_ok, ours

    disabled = tray(home, "disable", "--client", case.client)
    assert disabled.returncode == 0, disabled.stdout + disabled.stderr
    if not file.parent.exists():
        # The folder enable made for the client's file is gone again, as in the fresh home. Codex refuses to run
        # with CODEX_HOME naming a missing folder, so give it an empty one to list from.
        file.parent.mkdir(parents=True)
    assert SERVER_NAME not in home.list_servers(case.cli)


# ---- the project scope, with each client's own gate on a project's servers ---------------------------------
def status_of(home: ClientHome, client: str) -> dict[str, Any]:
    """Our `status --json` registration of `client` in the project scope."""
    shown = tray(home, "status", "--json")
    report = json.loads(shown.stdout)
    [entry] = [
        r for c in report["clients"] if c["client"] == client for r in c["registrations"] if r["scope"] == "project"
    ]
    return entry


def enable_in_project(home: ClientHome, client: str) -> None:
    enabled = tray(home, "enable", "--client", client, "--scope", "project", "--project", str(home.project))
    assert enabled.returncode == 0, enabled.stdout + enabled.stderr


def connected_then_disabled(home: ClientHome, cli: ClientCli, client: str, ollama: OllamaEmulator) -> None:
    """The client lists our project entry Connected (the server it started got our Ollama URL); once we
    disable it, the client lists it no more."""
    ours = home.wait_listed(cli, SERVER_NAME, Status.CONNECTED)
    assert ours is not None and ours.status is Status.CONNECTED, ours
    assert f"for {ollama.url}" in server_log(home), server_log(home)
    disabled = tray(home, "disable", "--client", client, "--scope", "project", "--project", str(home.project))
    assert disabled.returncode == 0, disabled.stdout + disabled.stderr
    assert SERVER_NAME not in home.list_servers(cli)


def test_gemini_project_scope_in_a_trusted_folder_is_listed_connected(tmp_path: Path, ollama: OllamaEmulator) -> None:
    require(GEMINI)
    home = ClientHome.create(tmp_path)  # its project folder is trusted in ~/.gemini/trustedFolders.json
    assert tray(home, "config", "set", "ollama_url", ollama.url).returncode == 0

    enable_in_project(home, "gemini")
    project_file = home.project / ".gemini" / "settings.json"
    assert SERVER_NAME in json.loads(project_file.read_text(encoding="utf-8"))["mcpServers"]
    assert not home.gemini_settings.exists()  # the user's own file was not touched

    connected_then_disabled(home, GEMINI, "gemini", ollama)
    assert not (home.project / ".gemini").exists()  # the file and the folder we created for it


def test_qwen_project_scope_is_pending_until_approved_then_listed_connected(
    tmp_path: Path, ollama: OllamaEmulator
) -> None:
    require(QWEN)
    home = ClientHome.create(tmp_path)
    home.qwen_settings.parent.mkdir(parents=True)
    home.qwen_settings.write_text('{\n  "$version": 4\n}\n', encoding="utf-8")
    assert tray(home, "config", "set", "ollama_url", ollama.url).returncode == 0

    enable_in_project(home, "qwen")
    pending = home.list_servers(QWEN).get(SERVER_NAME)
    assert pending is not None and pending.status is Status.PENDING, pending
    assert status_of(home, "qwen")["approved"] is False  # we say what Qwen says
    assert "qwen mcp approve ollama" in tray(home, "status").stdout

    approved = home.run(QWEN, "mcp", "approve", SERVER_NAME)  # the user's decision, made in the project
    assert approved.returncode == 0, approved.stdout + approved.stderr
    assert status_of(home, "qwen")["approved"] is True

    connected_then_disabled(home, QWEN, "qwen", ollama)


def test_codex_project_scope_counts_only_in_a_trusted_project(tmp_path: Path, ollama: OllamaEmulator) -> None:
    require(CODEX)
    home = ClientHome.create(tmp_path)
    home.codex_config.parent.mkdir(parents=True)  # Codex refuses to run without its CODEX_HOME folder
    assert tray(home, "config", "set", "ollama_url", ollama.url).returncode == 0

    enable_in_project(home, "codex")
    assert status_of(home, "codex")["trusted"] is False
    assert SERVER_NAME not in home.list_servers(CODEX)  # Codex does not read an untrusted project's file

    home.codex_config.write_text(
        f'[projects."{os.path.realpath(home.project)}"]\ntrust_level = "trusted"\n', encoding="utf-8"
    )
    assert status_of(home, "codex")["trusted"] is True
    ours = home.list_servers(CODEX).get(SERVER_NAME)
    assert ours is not None and ours.status is Status.ENABLED, ours
