"""`packaging/install.py` installs the app for a user in a temporary HOME, and `--uninstall` takes it away.

Slow (a real virtualenv and a real `pip install` of this checkout: about 30 s with a warm pip cache).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.ollama_emulator import OllamaEmulator, default_models

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the Linux flavour of the installer"),
]

ROOT = Path(__file__).resolve().parents[2]
INSTALLER = ROOT / "packaging" / "install.py"
GI_CHECK = "import gi; gi.require_version('Gtk', '3.0'); from gi.repository import Gtk"


@dataclass(frozen=True)
class Installed:
    home: Path
    env: dict[str, str]
    output: str

    @property
    def venv(self) -> Path:
        return self.home / ".local" / "share" / "ollama-mcp-tray" / "venv"

    @property
    def bin_dir(self) -> Path:
        return self.home / ".local" / "bin"

    @property
    def entry(self) -> Path:
        return self.home / ".local" / "share" / "applications" / "ollama-mcp-tray.desktop"


def user_env(home: Path) -> dict[str, str]:
    """This machine's environment as a fresh user would have it: own HOME, no virtualenv active."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_") and k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    # Share the real pip cache (pip keeps it consistent across processes): a cold one costs minutes.
    env.setdefault("PIP_CACHE_DIR", str(Path.home() / ".cache" / "pip"))
    env["HOME"] = str(home)
    return env


def run_installer(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(INSTALLER), *args], env=env, capture_output=True, text=True, timeout=900, check=False
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    home = tmp_path_factory.mktemp("home")
    env = user_env(home)
    done = run_installer(env)
    assert done.returncode == 0, done.stdout + done.stderr
    yield Installed(home, env, done.stdout)
    run_installer(env, "--uninstall", "--keep-registrations")


def test_launchers_link_into_the_app_environment_and_run(installed: Installed) -> None:
    for name in ("ollama-mcp-tray", "ollama-mcp-server"):
        link = installed.bin_dir / name
        assert link.is_symlink()
        assert link.resolve().is_relative_to(installed.venv.resolve())
    done = subprocess.run(
        [str(installed.bin_dir / "ollama-mcp-server"), "--version"],
        env=installed.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.startswith("ollama-mcp-server ")


def test_installed_cli_reports_on_a_running_ollama(installed: Installed) -> None:
    with OllamaEmulator(default_models()) as emulator:
        done = subprocess.run(
            [str(installed.bin_dir / "ollama-mcp-tray"), "status", "--json"],
            env={**installed.env, "OLLAMA_URL": emulator.url},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["ollama"]["up"] is True


def test_menu_entry_starts_the_tray_with_the_app_environment(installed: Installed) -> None:
    text = installed.entry.read_text(encoding="utf-8")
    assert f"Exec={installed.venv}/bin/python -m ollama_mcp_tray.tray\n" in text
    icon = installed.home / ".local" / "share" / "icons" / "hicolor" / "48x48" / "apps" / "ollama-mcp-tray.png"
    assert icon.is_file()


def test_environment_has_gtk_bindings_for_a_clickable_tray(installed: Installed) -> None:
    # On this machine either the system's python3-gi is reused or PyGObject is built (tests/setup/30-desktop.sh
    # installs the headers); the installer says so plainly when neither works.
    python = installed.venv / "bin" / "python"
    done = subprocess.run(
        [str(python), "-c", GI_CHECK], env=installed.env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, installed.output + done.stderr


def test_output_tells_the_user_what_to_do_next(installed: Installed) -> None:
    assert "ollama-mcp-tray setup" in installed.output
    assert f'export PATH="{installed.bin_dir}:$PATH"' in installed.output


def test_installed_app_carries_its_windows(installed: Installed) -> None:
    # A regular install holds only the packages pyproject lists; an editable one would hide a missing entry.
    done = subprocess.run(
        [str(installed.venv / "bin" / "python"), "-I", "-c", "import ollama_mcp_tray.tray.gui.windows.run, sv_ttk"],
        env=installed.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_running_the_installer_again_upgrades_in_place_and_keeps_the_registration(installed: Installed) -> None:
    """An upgrade is the installer run again over the same environment: the registered command (this venv's
    python with `-I -m`) names no version, so it stays right, and Claude Code's entry is left as it was."""
    claude_json = installed.home / ".claude.json"
    with OllamaEmulator(default_models()) as emulator:
        env = {**installed.env, "OLLAMA_URL": emulator.url}
        app = str(installed.bin_dir / "ollama-mcp-tray")
        enabled = subprocess.run([app, "enable"], env=env, capture_output=True, text=True, timeout=60, check=False)
        assert enabled.returncode == 0, enabled.stdout + enabled.stderr
        before = claude_json.read_bytes()
        marker = installed.venv / "upgrade-marker"
        marker.write_text("the same environment\n", encoding="utf-8")
        again = run_installer(installed.env)
        assert again.returncode == 0, again.stdout + again.stderr
        assert f"Reusing the environment in {installed.venv}" in again.stdout
        assert marker.is_file()
        status = subprocess.run(
            [app, "status", "--json"], env=env, capture_output=True, text=True, timeout=60, check=False
        )
    marker.unlink()
    assert claude_json.read_bytes() == before
    report = json.loads(status.stdout)
    claude = next(c for c in report["clients"] if c["client"] == "claude-code")
    assert claude["state"] == "on", status.stdout
    (entry,) = claude["registrations"]
    assert (entry["state"], entry["up_to_date"]) == ("ours-current", True)
    assert entry["command"] == str(installed.venv / "bin" / "python")


def test_uninstall_removes_the_app_but_keeps_the_settings(installed: Installed) -> None:
    # Runs last in this module: it takes away what the other tests use.
    settings = installed.home / ".config" / "ollama-mcp-tray" / "settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text("{}\n", encoding="utf-8")
    key = settings.parent / "ollama.key"
    key.write_text("k3y\n", encoding="utf-8")
    logs = installed.home / ".local" / "state" / "ollama-mcp-tray" / "log"
    logs.mkdir(parents=True, exist_ok=True)
    autostart = installed.home / ".config" / "autostart" / "ollama-mcp-tray.desktop"
    autostart.parent.mkdir(parents=True, exist_ok=True)
    autostart.write_text("[Desktop Entry]\n", encoding="utf-8")

    done = run_installer(installed.env, "--uninstall")

    assert done.returncode == 0, done.stdout + done.stderr
    assert not installed.venv.exists()
    assert not (installed.bin_dir / "ollama-mcp-tray").exists()
    assert not (installed.bin_dir / "ollama-mcp-tray").is_symlink()
    assert not installed.entry.exists()
    assert not autostart.exists()
    assert settings.read_text(encoding="utf-8") == "{}\n"
    # What stays is named, each where the installed app itself keeps it (its logs are not in the data folder).
    assert f"your Ollama key: {key}\n" in done.stdout
    assert f"logs: {logs}\n" in done.stdout
    assert key.exists() and "--purge" in done.stdout
