"""Run the real MCP clients' own CLIs offline in a temporary HOME and read back what they list.

The CLIs are the pinned ones that tests/setup/25-mcp-clients.sh installs into `.tools/clients/bin` (Gemini CLI,
Qwen Code, opencode, Codex) and tests/setup/20-claude-cli.sh into `.tools/claude` (Claude Code). Each runs with
an environment built from nothing: HOME, the XDG folders and every client's own config override point into the
temporary HOME, the machine-wide settings files are replaced by empty ones there, and every update check,
telemetry and download we found in their packaged code is switched off (tests/tray/clients/CLIENT_FACTS.md
lists each one and why). Nothing here reads or writes the real HOME.

    home = ClientHome.create(tmp_path)
    home.gemini_settings.write_text(...)
    listing = home.list_servers(GEMINI)          # {"ollama": Listed(name, Status.CONNECTED, line)}
"""

from __future__ import annotations

import enum
import json
import os
import re
import signal
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
CLIENTS_BIN = REPO / ".tools" / "clients" / "bin"
CLAUDE_BIN = REPO / ".tools" / "claude" / "node_modules" / ".bin" / "claude"

# A cold `gemini mcp list` takes about 12 s on a busy 2-core machine; a hung CLI must not hang the suite.
RUN_TIMEOUT = 120.0

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Status(enum.Enum):
    """What a client says about one configured server."""

    CONNECTED = "connected"  # it started the server and the MCP handshake succeeded
    ENABLED = "enabled"  # configured and enabled; the client did not start it (Codex never does to list)
    CONNECTING = "connecting"
    DISABLED = "disabled"  # turned off, or (Gemini) not started because the folder is untrusted
    FAILED = "failed"  # started but the handshake failed or timed out
    PENDING = "pending approval"  # a project server the user has not approved (Qwen Code)
    REJECTED = "rejected"
    BLOCKED = "blocked"  # an admin or allow/exclude list keeps it out (Gemini)
    NEEDS_AUTH = "needs authentication"
    UNKNOWN = "unknown"  # a status word this parser does not know: a newer CLI; see the line


@dataclass(frozen=True)
class Listed:
    """One server as a client's list command showed it."""

    name: str
    status: Status
    line: str  # what it printed for the server, colours removed


Parser = Callable[[str, str], dict[str, Listed]]


class ClientCliError(AssertionError):
    """A client's CLI did not run as these helpers expect (it hung, or printed what they cannot read)."""


@dataclass(frozen=True)
class ClientCli:
    """One client's CLI: where it is installed and how to ask it for its servers."""

    name: str
    executable: Path
    list_args: tuple[str, ...]
    parse: Parser
    listed_ok: Status  # what "our server is there and usable" looks like in this client's list
    setup_script: str

    def installed(self) -> bool:
        return self.executable.is_file() and os.access(self.executable, os.X_OK)


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


# `✓ ollama: /path/python -I -m ollama_mcp_tray.server (stdio) - Connected`; Qwen adds `● name: … - Pending
# approval` and `- Disconnected (timed out after 10000ms)`; Gemini adds ` (from <extension>)` after the name.
_GEMINI_LINE = re.compile(
    r"^\S+ (?P<name>[^\s:]+)(?: \(from [^)]*\))?: (?P<detail>.*) - (?P<status>[A-Za-z ]+?)(?: \(.*\))?$"
)
_GEMINI_STATUS = {
    "Connected": Status.CONNECTED,
    "Connecting": Status.CONNECTING,
    "Disconnected": Status.FAILED,
    "Disabled": Status.DISABLED,
    "Blocked": Status.BLOCKED,
    "Pending approval": Status.PENDING,
    "Rejected": Status.REJECTED,
}


def parse_gemini_style(stdout: str, stderr: str) -> dict[str, Listed]:
    """Gemini CLI (which prints its list on stderr) and Qwen Code (stdout, always coloured)."""
    found: dict[str, Listed] = {}
    for raw in (stdout + "\n" + stderr).splitlines():
        line = strip_ansi(raw).strip()
        match = _GEMINI_LINE.match(line)
        if match is None:
            continue
        status = _GEMINI_STATUS.get(match["status"], Status.UNKNOWN)
        found[match["name"]] = Listed(match["name"], status, line)
    return found


# opencode draws a box: `●  ✓ ollama connected`, then the command on the next line (and an error for `failed`).
_OPENCODE_LINE = re.compile(
    r"^[│●\s]*[✓✗○⚠]\s+(?P<name>\S+)\s+(?P<status>connected|failed|disabled|needs authentication|"
    r"needs client registration|not initialized)(?: \(OAuth\))?$"
)
_OPENCODE_STATUS = {
    "connected": Status.CONNECTED,
    "failed": Status.FAILED,
    "disabled": Status.DISABLED,
    "needs authentication": Status.NEEDS_AUTH,
    "needs client registration": Status.NEEDS_AUTH,
    "not initialized": Status.FAILED,
}


def parse_opencode(stdout: str, stderr: str) -> dict[str, Listed]:
    found: dict[str, Listed] = {}
    for raw in (stdout + "\n" + stderr).splitlines():
        line = strip_ansi(raw).strip()
        match = _OPENCODE_LINE.match(line)
        if match is not None:
            found[match["name"]] = Listed(match["name"], _OPENCODE_STATUS[match["status"]], line)
    return found


def parse_codex_json(stdout: str, stderr: str) -> dict[str, Listed]:
    """`codex mcp list --json`: a JSON array of {name, enabled, disabled_reason, transport, …}."""
    try:
        entries = json.loads(stdout)
    except json.JSONDecodeError as exc:
        raise ClientCliError(f"codex mcp list --json printed no JSON ({exc}):\n{stdout}\n{stderr}") from exc
    if not isinstance(entries, list):
        raise ClientCliError(f"codex mcp list --json printed {type(entries).__name__}, not a list:\n{stdout}")
    found: dict[str, Listed] = {}
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            status = Status.ENABLED if entry.get("enabled") is True else Status.DISABLED
            found[entry["name"]] = Listed(entry["name"], status, json.dumps(entry, sort_keys=True))
    return found


# `ollama: /path/python -I -m ollama_mcp_tray.server - ✔ Connected` (or `✘ Failed to connect — <reason>`, `⚠ Needs
# authentication`); a plugin's server is named `plugin:<plugin>:<server>`, so split at ": ", not ":".
_CLAUDE_STATUS = {
    "Connected": Status.CONNECTED,
    "Failed to connect": Status.FAILED,
    "Needs authentication": Status.NEEDS_AUTH,
    "Pending approval": Status.PENDING,
}


def parse_claude(stdout: str, stderr: str) -> dict[str, Listed]:
    found: dict[str, Listed] = {}
    for raw in stdout.splitlines():
        line = strip_ansi(raw).strip()
        if ": " not in line or " - " not in line:
            continue
        name = line.split(": ", 1)[0]
        said = line.rsplit(" - ", 1)[1].split(" ", 1)[-1]
        status = next((s for word, s in _CLAUDE_STATUS.items() if said.startswith(word)), Status.UNKNOWN)
        found[name] = Listed(name, status, line)
    return found


GEMINI = ClientCli(
    "gemini", CLIENTS_BIN / "gemini", ("mcp", "list"), parse_gemini_style, Status.CONNECTED, "25-mcp-clients.sh"
)
QWEN = ClientCli(
    "qwen", CLIENTS_BIN / "qwen", ("mcp", "list"), parse_gemini_style, Status.CONNECTED, "25-mcp-clients.sh"
)
OPENCODE = ClientCli(
    "opencode", CLIENTS_BIN / "opencode", ("mcp", "list"), parse_opencode, Status.CONNECTED, "25-mcp-clients.sh"
)
CODEX = ClientCli(
    "codex", CLIENTS_BIN / "codex", ("mcp", "list", "--json"), parse_codex_json, Status.ENABLED, "25-mcp-clients.sh"
)
CLAUDE = ClientCli("claude", CLAUDE_BIN, ("mcp", "list"), parse_claude, Status.CONNECTED, "20-claude-cli.sh")
ALL_CLIS = (GEMINI, QWEN, OPENCODE, CODEX, CLAUDE)

# Machine-wide settings that would otherwise come from /etc; Qwen Code reads these paths instead. They turn off
# what could reach the network or slow a listing down.
_QUIET_SETTINGS = {
    "general": {"enableAutoUpdate": False, "enableAutoUpdateNotification": False, "disableAutoUpdate": True},
    "privacy": {"usageStatisticsEnabled": False},
    "telemetry": {"enabled": False},
}


@dataclass
class ClientHome:
    """A temporary user for the clients: HOME, a project folder (their working folder), and their files."""

    root: Path
    project: Path
    extra_env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def create(cls, base: Path) -> ClientHome:
        root = base / "home"
        project = root / "project"
        project.mkdir(parents=True)
        home = cls(root, project)
        system = root / "system"
        system.mkdir()
        # Gemini CLI skips a machine-wide file whose parent folders others can write (all of /tmp), so its paths
        # stay empty: they still keep /etc/gemini-cli out. Qwen Code reads its files.
        for name in ("qwen-settings.json", "qwen-defaults.json"):
            (system / name).write_text(json.dumps(_QUIET_SETTINGS, indent=2) + "\n", encoding="utf-8")
        (system / "opencode").mkdir()
        home.trust_gemini_folder(project)
        return home

    # Each client's user-level file, where its own docs and code put it under this HOME.
    @property
    def gemini_settings(self) -> Path:
        return self.root / ".gemini" / "settings.json"

    @property
    def qwen_settings(self) -> Path:
        return self.root / ".qwen" / "settings.json"

    @property
    def opencode_config(self) -> Path:
        return self.root / ".config" / "opencode" / "opencode.json"

    @property
    def codex_config(self) -> Path:
        return self.root / ".codex" / "config.toml"

    @property
    def claude_json(self) -> Path:
        return self.root / ".claude.json"

    def trust_gemini_folder(self, folder: Path) -> None:
        """What Gemini CLI records when the user trusts `folder`: without it, it starts no server there."""
        path = self.root / ".gemini" / "trustedFolders.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        trusted = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        trusted[os.path.realpath(folder)] = "TRUST_FOLDER"
        path.write_text(json.dumps(trusted, indent=2) + "\n", encoding="utf-8")

    def env(self) -> dict[str, str]:
        """The whole environment a client runs with: nothing is inherited from the test process."""
        root = str(self.root)
        system = self.root / "system"
        env = {
            "HOME": root,
            "USERPROFILE": root,
            "PATH": "/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "TERM": "dumb",
            "NO_COLOR": "1",
            "DO_NOT_TRACK": "1",
            "XDG_CONFIG_HOME": str(self.root / ".config"),
            "XDG_DATA_HOME": str(self.root / ".local" / "share"),
            "XDG_STATE_HOME": str(self.root / ".local" / "state"),
            "XDG_CACHE_HOME": str(self.root / ".cache"),
            # Gemini CLI: GEMINI_CLI_HOME is the folder that holds .gemini.
            "GEMINI_CLI_HOME": root,
            "GEMINI_CLI_SYSTEM_SETTINGS_PATH": str(system / "gemini-settings.json"),
            "GEMINI_CLI_SYSTEM_DEFAULTS_PATH": str(system / "gemini-defaults.json"),
            "GEMINI_TELEMETRY_ENABLED": "false",
            "GEMINI_CLI_NO_RELAUNCH": "true",  # it re-executes itself with a bigger heap: twice the start-up
            # Qwen Code: QWEN_HOME is the .qwen folder itself.
            "QWEN_HOME": str(self.root / ".qwen"),
            "QWEN_CODE_SYSTEM_SETTINGS_PATH": str(system / "qwen-settings.json"),
            "QWEN_CODE_SYSTEM_DEFAULTS_PATH": str(system / "qwen-defaults.json"),
            "QWEN_TELEMETRY_ENABLED": "false",
            "QWEN_USAGE_STATISTICS_ENABLED": "false",
            "QWEN_CODE_NO_RELAUNCH": "true",
            # opencode: OPENCODE_CONFIG_DIR is one more config folder; pointing it at the global one adds none.
            "OPENCODE_CONFIG_DIR": str(self.opencode_config.parent),
            "OPENCODE_TEST_MANAGED_CONFIG_DIR": str(system / "opencode"),
            "OPENCODE_DISABLE_AUTOUPDATE": "1",
            "OPENCODE_DISABLE_MODELS_FETCH": "1",
            "OPENCODE_DISABLE_DEFAULT_PLUGINS": "1",
            "OPENCODE_DISABLE_LSP_DOWNLOAD": "1",
            "OPENCODE_DISABLE_SHARE": "1",
            # opencode installs @opencode-ai/plugin into every config folder from the npm registry on each run;
            # offline, its installer gives up at once instead of asking the registry.
            "npm_config_offline": "true",
            # Codex: CODEX_HOME is the .codex folder itself.
            "CODEX_HOME": str(self.root / ".codex"),
            # Claude Code
            "DISABLE_AUTOUPDATER": "1",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        }
        env.update(self.extra_env)
        return env

    def run(
        self, cli: ClientCli, *args: str, cwd: Path | None = None, timeout: float = RUN_TIMEOUT
    ) -> subprocess.CompletedProcess[str]:
        """Run `cli` with `args` in the project folder; a CLI still running after `timeout` is killed with
        everything it started (a server it spawned would otherwise keep the pipes open)."""
        return run_bounded([str(cli.executable), *args], cwd=cwd or self.project, env=self.env(), timeout=timeout)

    def list_servers(self, cli: ClientCli, *, cwd: Path | None = None) -> dict[str, Listed]:
        result = self.run(cli, *cli.list_args, cwd=cwd)
        if result.returncode != 0:
            raise ClientCliError(
                f"{cli.name} {' '.join(cli.list_args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
            )
        return cli.parse(result.stdout, result.stderr)

    def wait_listed(self, cli: ClientCli, name: str, status: Status, *, attempts: int = 3) -> Listed | None:
        """`name` as listed once it shows `status`, trying up to `attempts` times; the last listing otherwise.

        Gemini CLI gives a server 5 s to answer `initialize` when listing, and our server (Python importing the
        MCP SDK) can take 2 to 7 s to start on a busy 2-core machine: one late start is the machine, three in a
        row is a failure.
        """
        listed: Listed | None = None
        for _ in range(attempts):
            listed = self.list_servers(cli).get(name)
            if listed is None or listed.status is status:
                return listed
        return listed


def run_bounded(
    command: list[str], *, cwd: Path, env: Mapping[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    with subprocess.Popen(
        command,
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
        start_new_session=True,  # its own process group, so a timeout kills the servers it started too
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
            raise ClientCliError(
                f"{' '.join(command)} still running after {timeout:.0f} s:\n{stdout}\n{stderr}"
            ) from None
        return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
