"""A new user's mistakes at the command line: each answered with what happened, which value, and the fix, under
the documented exit code; values are checked against Ollama (the emulator, over loopback) when it answers."""

from __future__ import annotations

import io
import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ollama_mcp_tray.server.paths import AppPaths
from ollama_mcp_tray.server.settings import Settings
from ollama_mcp_tray.tray import cli
from ollama_mcp_tray.tray.app_context import AppContext
from ollama_mcp_tray.tray.app_settings import SETTINGS
from ollama_mcp_tray.tray.clients.claude_code import ClaudeHome
from ollama_mcp_tray.tray.launch import ServerLaunch
from tests.ollama_emulator import OllamaEmulator

KEY_HINTS = ("set-key", "key_header", "auth_scheme")


def context(root: Path, **env: str) -> AppContext:
    paths = AppPaths(config_dir=root / "cfg", data_dir=root / "data", log_dir=root / "log")
    launch = ServerLaunch(sys.executable, ("-m", "ollama_mcp_tray.server"))
    environment = {"HOME": str(root), "PATH": str(root / "no-bin"), **env}
    return AppContext(paths, ClaudeHome(root / ".claude", root / ".claude.json"), launch, environment)


def run(root: Path, *argv: str, **env: str) -> int:
    return cli.main(list(argv), context(root, **env))


def settings_file(root: Path) -> dict[str, object]:
    path = root / "cfg" / "settings.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def cli_process(home: Path, *argv: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "OLLAMA_MCP_RESIDENT": "0"}
    return subprocess.run(
        [sys.executable, "-m", "ollama_mcp_tray.tray", *argv],
        env=env,
        cwd=home,
        input=stdin,
        stdin=subprocess.DEVNULL if stdin is None else None,
        capture_output=True,
        text=True,
        timeout=60,
    )


# ---- 12: set-key with its input closed ---------------------------------------------------------------------
def test_set_key_with_stdin_closed_is_a_usage_error_that_says_how_to_give_the_key(tmp_path):
    result = cli_process(tmp_path, "set-key")  # stdin is /dev/null
    assert result.returncode == cli.EXIT_USAGE
    assert "Traceback" not in result.stderr
    assert "No key was given" in result.stderr and "set-key" in result.stderr
    assert not list(tmp_path.rglob("ollama.key"))


@pytest.mark.skipif(os.name != "posix", reason="a pseudo-terminal")
def test_set_key_at_a_prompt_answered_with_ctrl_d_exits_2_without_a_traceback(tmp_path):
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    pid, fd = pty.fork()
    if pid == 0:  # the child: its controlling terminal is the pty, as in a user's shell
        os.execve(sys.executable, [sys.executable, "-m", "ollama_mcp_tray.tray", "set-key"], env)
    output = b""
    deadline = time.monotonic() + 60
    sent = False
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
        if not sent and b"Ollama key:" in output:
            os.write(fd, b"\x04")  # Ctrl-D at the prompt
            sent = True
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    text = output.decode("utf-8", "replace")
    assert sent, text
    assert os.waitstatus_to_exitcode(status) == cli.EXIT_USAGE, text
    assert "Traceback" not in text and "EOFError" not in text
    assert "No key was given" in text


# ---- 13: a proxy that refuses the key ----------------------------------------------------------------------
def test_status_with_the_key_refused_says_so_points_to_the_fixes_and_exits_5(tmp_path, ollama, capsys):
    run(tmp_path, "config", "set", "ollama_url", ollama.url)
    ollama.faults.require_key = "right"
    capsys.readouterr()
    assert run(tmp_path, "status") == cli.EXIT_OLLAMA
    out = capsys.readouterr().out
    assert "KEY REFUSED" in out and "DOWN" not in out
    assert all(hint in out for hint in KEY_HINTS)
    assert run(tmp_path, "status", "--json") == cli.EXIT_OLLAMA
    assert json.loads(capsys.readouterr().out)["ollama"]["state"] == "key-refused"


def test_status_exits_5_when_ollama_is_down_and_0_when_it_answers(tmp_path, ollama, capsys):
    run(tmp_path, "config", "set", "ollama_url", ollama.url)
    assert run(tmp_path, "status") == cli.EXIT_OK
    ollama.stop()
    capsys.readouterr()
    assert run(tmp_path, "status") == cli.EXIT_OLLAMA
    out = capsys.readouterr().out
    assert "DOWN" in out and "ollama serve" in out


def test_doctor_with_the_key_refused_does_not_say_start_ollama(tmp_path, ollama, capsys):
    run(tmp_path, "config", "set", "ollama_url", ollama.url)
    ollama.faults.require_key = "right"
    capsys.readouterr()
    assert run(tmp_path, "doctor") == cli.EXIT_PROBLEM
    out = capsys.readouterr().out
    assert "Start Ollama" not in out
    assert "key accepted" in out and all(hint in out for hint in KEY_HINTS)


def test_setup_with_the_key_refused_says_the_key_was_refused(tmp_path, ollama, capsys):
    run(tmp_path, "config", "set", "ollama_url", ollama.url)
    ollama.faults.require_key = "right"
    capsys.readouterr()
    assert run(tmp_path, "setup") == cli.EXIT_OLLAMA
    err = capsys.readouterr().err
    assert "refused the key" in err and "does not answer" not in err and "Start Ollama" not in err
    assert all(hint in err for hint in KEY_HINTS)
    assert not (tmp_path / ".claude.json").exists()


# ---- 14: setup with the address and key only in the environment ---------------------------------------------
def test_setup_saves_the_url_and_key_it_found_in_the_environment(tmp_path, ollama, capsys):
    ollama.faults.require_key = "s3cret"
    assert run(tmp_path, "setup", OLLAMA_URL=ollama.url, OLLAMA_KEY="s3cret") == 0
    out = capsys.readouterr().out
    assert settings_file(tmp_path)["ollama_url"] == ollama.url
    claude = (tmp_path / ".claude.json").read_text(encoding="utf-8")
    assert json.loads(claude)["mcpServers"]["ollama"]["env"] == {"OLLAMA_URL": ollama.url}
    assert "s3cret" not in claude
    key_file = tmp_path / "cfg" / "ollama.key"
    assert key_file.read_text(encoding="utf-8") == "s3cret\n"
    if os.name == "posix":
        assert key_file.stat().st_mode & 0o777 == 0o600
    assert "from OLLAMA_URL" in out and "from OLLAMA_KEY" in out and str(key_file) in out
    assert "s3cret" not in out
    # Without the environment now, as Claude Code may start it: the same Ollama, the same key.
    capsys.readouterr()
    assert run(tmp_path, "status") == cli.EXIT_OK
    assert f"up at {ollama.url}" in capsys.readouterr().out


# ---- 15: input errors are usage errors ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (("config", "set", "poll_interval", "abc"), "at least 1"),
        (("config", "set", "guard", "maybe"), "true or false"),
        (("config", "set", "connect_timeout", "-1"), "connect_timeout takes a number of seconds"),
        (("config", "set", "auth_scheme", "basic"), "header or bearer"),
        (("config", "set", "server_name", "my server"), "letters, digits"),
        (("enable", "--scope", "local", "--project", "/nonexistent"), "give --project an existing folder"),
    ],
)
def test_a_value_that_is_not_allowed_is_a_usage_error_naming_what_is(tmp_path, capsys, argv, says):
    assert run(tmp_path, *argv) == cli.EXIT_USAGE
    assert says in capsys.readouterr().err
    assert settings_file(tmp_path) == {}
    assert not (tmp_path / ".claude.json").exists()


def test_an_empty_key_is_a_usage_error(tmp_path):
    result = cli_process(tmp_path, "set-key", stdin="\n")
    assert result.returncode == cli.EXIT_USAGE
    assert "No key was given" in result.stderr and "Traceback" not in result.stderr


# ---- 17: values checked ------------------------------------------------------------------------------------
@pytest.mark.parametrize("typed", ["foo", "http://", "exa mple.com", "ftp://example.com", "host:99999"])
def test_a_malformed_ollama_url_is_refused_and_not_stored(tmp_path, capsys, typed):
    assert run(tmp_path, "config", "set", "ollama_url", typed) == cli.EXIT_USAGE
    assert "ollama_url" in capsys.readouterr().err
    assert settings_file(tmp_path) == {}


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("gpubox:11434", "http://gpubox:11434"),
        ("http://gpubox", "http://gpubox:80"),
        ("ollama.lan", "http://ollama.lan:11434"),
        ("localhost", "http://localhost:11434"),
        ("10.0.0.5", "http://10.0.0.5:11434"),
        ("[::1]:8080", "http://[::1]:8080"),
        ("https://proxy.example.com/ollama/", "https://proxy.example.com:443/ollama"),
    ],
)
def test_every_address_form_a_user_means_is_accepted(typed, stored):
    assert SETTINGS["ollama_url"].parse("ollama_url", typed) == stored


def test_an_address_where_nothing_answers_is_saved_with_a_warning(tmp_path, ollama, capsys):
    url = ollama.url
    ollama.stop()
    assert run(tmp_path, "config", "set", "ollama_url", url) == cli.EXIT_OK
    assert "Warning: Ollama does not answer" in capsys.readouterr().err
    assert settings_file(tmp_path)["ollama_url"] == url


def test_an_address_where_ollama_answers_says_so(tmp_path, ollama, capsys):
    assert run(tmp_path, "config", "set", "ollama_url", ollama.url) == cli.EXIT_OK
    assert "answers at" in capsys.readouterr().out


def test_a_default_model_ollama_does_not_have_is_refused_with_the_installed_ones(tmp_path, ollama, capsys):
    run(tmp_path, "config", "set", "ollama_url", ollama.url)
    capsys.readouterr()
    assert run(tmp_path, "config", "set", "default_model", "nosuchmodel") == cli.EXIT_PROBLEM
    err = capsys.readouterr().err
    assert "ollama pull nosuchmodel" in err and "qwen2.5-coder:3b" in err
    assert "default_model" not in settings_file(tmp_path)
    assert run(tmp_path, "config", "set", "default_model", "llama3.2") == cli.EXIT_OK
    assert settings_file(tmp_path)["default_model"] == "llama3.2"
    assert run(tmp_path, "config", "set", "default_model", "nosuchmodel", "--no-check") == cli.EXIT_OK


def test_a_default_model_set_while_ollama_is_down_is_saved_with_a_warning(tmp_path, ollama, capsys):
    run(tmp_path, "config", "set", "ollama_url", ollama.url)
    ollama.stop()
    capsys.readouterr()
    assert run(tmp_path, "config", "set", "default_model", "nosuchmodel") == cli.EXIT_OK
    assert "Warning" in capsys.readouterr().err
    assert settings_file(tmp_path)["default_model"] == "nosuchmodel"


def _set_key(root: Path, key: str, ollama: OllamaEmulator, monkeypatch, capsys, *extra: str) -> tuple[int, str]:
    """set-key with `key` on its (piped) stdin, pointed at the emulator by the saved settings."""
    cli.main(["config", "set", "ollama_url", ollama.url], context(root))
    capsys.readouterr()
    monkeypatch.setattr(sys, "stdin", io.StringIO(key + "\n"))
    code = run(root, "set-key", *extra)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_a_key_the_proxy_refuses_is_not_stored_and_the_fixes_are_named(tmp_path, ollama, monkeypatch, capsys):
    ollama.faults.require_key = "right"
    code, text = _set_key(tmp_path, "wrong", ollama, monkeypatch, capsys)
    assert code == cli.EXIT_OLLAMA
    assert "refused this key" in text and "key_header" in text and "auth_scheme" in text
    assert not (tmp_path / "cfg" / "ollama.key").exists()
    code, text = _set_key(tmp_path, "right", ollama, monkeypatch, capsys)
    assert code == cli.EXIT_OK and "accepted the key" in text
    assert (tmp_path / "cfg" / "ollama.key").read_text(encoding="utf-8") == "right\n"
    code, _ = _set_key(tmp_path, "wrong", ollama, monkeypatch, capsys, "--no-check")
    assert code == cli.EXIT_OK


def test_a_key_set_while_ollama_is_down_is_stored_with_a_warning(tmp_path, ollama, monkeypatch, capsys):
    url = ollama.url
    ollama.stop()
    monkeypatch.setattr(sys, "stdin", io.StringIO("k\n"))
    code = run(tmp_path, "set-key", OLLAMA_URL=url)
    text = capsys.readouterr().err
    assert code == cli.EXIT_OK and "stored unchecked" in text
    assert (tmp_path / "cfg" / "ollama.key").exists()


# ---- 18: the settings are described ------------------------------------------------------------------------
@pytest.mark.parametrize("action", ["get", "set"])
def test_config_help_describes_every_setting_with_what_it_accepts_and_its_default(action):
    result = subprocess.run(
        [sys.executable, "-m", "ollama_mcp_tray.tray", "config", action, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    defaults = Settings().to_dict()
    for name, spec in SETTINGS.items():
        assert f"  {name}\n      {spec.meaning}.\n      allowed: {spec.allowed}; default: " in result.stdout
        assert json.dumps(defaults[name]) in result.stdout or repr(defaults[name]) in result.stdout


def test_the_table_describes_exactly_the_settings_there_are():
    assert list(SETTINGS) == list(Settings().to_dict())
    assert all(spec.meaning and spec.allowed for spec in SETTINGS.values())
