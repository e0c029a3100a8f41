"""The command line: documented exit codes, results on stdout, no tracebacks, no GUI imports, no key shown."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ollama_mcp_tray.server.paths import AppPaths
from ollama_mcp_tray.tray import cli
from ollama_mcp_tray.tray.app_context import AppContext
from ollama_mcp_tray.tray.clients.claude_code import ClaudeHome
from ollama_mcp_tray.tray.launch import ServerLaunch


def context(root: Path) -> AppContext:
    paths = AppPaths(config_dir=root / "cfg", data_dir=root / "data", log_dir=root / "log")
    launch = ServerLaunch(sys.executable, ("-m", "ollama_mcp_tray.server"))
    # PATH points nowhere: these tests must not find a `claude` CLI.
    # The resident is off: `doctor` starts the server, which would leave a resident running (tests of it turn it on).
    env = {"HOME": str(root), "PATH": str(root / "no-bin"), "OLLAMA_MCP_RESIDENT": "0"}
    return AppContext(paths, ClaudeHome(root / ".claude", root / ".claude.json"), launch, env)


def run(root: Path, *argv: str) -> int:
    return cli.main(list(argv), context(root))


def run_process(home: Path, *argv: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "OLLAMA_MCP_RESIDENT": "0"}
    return subprocess.run(
        [sys.executable, "-m", "ollama_mcp_tray.tray", *argv],
        env=env,
        cwd=home,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_setup_picks_the_coder_model_saves_it_and_registers_in_user_scope(tmp_path, ollama, capsys):
    assert run(tmp_path, "config", "set", "ollama_url", ollama.url) == 0
    assert run(tmp_path, "setup", "--claude-md") == 0
    out = capsys.readouterr().out
    assert "Default model: qwen2.5-coder:3b" in out
    settings = json.loads((tmp_path / "cfg" / "settings.json").read_text(encoding="utf-8"))
    assert settings["default_model"] == "qwen2.5-coder:3b"
    entry = json.loads((tmp_path / ".claude.json").read_text(encoding="utf-8"))["mcpServers"]["ollama"]
    assert entry["env"] == {"OLLAMA_URL": ollama.url}
    assert "ollama-mcp-tray:begin" in (tmp_path / ".claude" / "CLAUDE.md").read_text(encoding="utf-8")


def test_setup_leaves_the_model_names_for_the_servers_first_start(tmp_path, ollama):
    from ollama_mcp_tray.server.descriptions import generation_description, read_model_cache

    run(tmp_path, "config", "set", "ollama_url", ollama.url)
    assert run(tmp_path, "setup") == 0
    ollama.stop()  # the server's first start must not need Ollama to name the models
    names = read_model_cache(context(tmp_path).paths.model_cache)
    assert set(names) == {"qwen2.5-coder:3b", "llama3.2:latest", "qwen3:4b", "nomic-embed-text:latest"}
    assert "llama3.2:latest" in generation_description("generate", names, None)


def test_setup_with_ollama_down_says_how_to_fix_it_and_exits_5(tmp_path, ollama, capsys):
    run(tmp_path, "config", "set", "ollama_url", ollama.url)
    ollama.stop()
    assert run(tmp_path, "setup") == cli.EXIT_OLLAMA
    assert "config set ollama_url" in capsys.readouterr().err
    assert not (tmp_path / ".claude.json").exists()


def test_setup_refuses_a_model_that_is_not_installed(tmp_path, ollama, capsys):
    run(tmp_path, "config", "set", "ollama_url", ollama.url)
    assert run(tmp_path, "setup", "--model", "nope:1b") == cli.EXIT_PROBLEM
    assert "ollama pull nope:1b" in capsys.readouterr().err


def test_enable_over_a_foreign_server_exits_4_and_force_replaces_it(tmp_path, capsys):
    (tmp_path / ".claude.json").write_text('{"mcpServers": {"ollama": {"command": "npx"}}}', encoding="utf-8")
    assert run(tmp_path, "enable") == cli.EXIT_NAME_TAKEN
    assert "--force" in capsys.readouterr().err
    assert run(tmp_path, "enable", "--force") == 0


def test_disable_is_idempotent(tmp_path):
    assert run(tmp_path, "enable", "--name", "local-llm") == 0
    assert run(tmp_path, "disable", "--name", "local-llm") == 0
    assert run(tmp_path, "disable", "--name", "local-llm") == 0
    assert json.loads((tmp_path / ".claude.json").read_text(encoding="utf-8")) == {"mcpServers": {}}


def test_status_json_lists_models_registrations_and_usage_but_never_the_key(tmp_path, ollama, capsys):
    run(tmp_path, "config", "set", "ollama_url", ollama.url)
    (tmp_path / "cfg" / "ollama.key").write_text("sup3r-s3cret\n", encoding="utf-8")
    os.chmod(tmp_path / "cfg" / "ollama.key", 0o600)
    run(tmp_path, "enable")
    capsys.readouterr()
    assert run(tmp_path, "status", "--json") == 0
    text = capsys.readouterr().out
    report = json.loads(text)
    assert report["ollama"]["up"] is True
    assert report["ollama"]["key_set"] is True
    assert "nomic-embed-text:latest" in [m["name"] for m in report["ollama"]["models"]]
    assert report["registrations"][0]["state"] == "ours-current"
    assert report["usage_today"]["calls"] == 0
    assert "sup3r-s3cret" not in text


def test_doctor_passes_when_registered_and_ollama_answers_and_names_fixes_when_not(tmp_path, ollama, capsys):
    run(tmp_path, "config", "set", "ollama_url", ollama.url)
    capsys.readouterr()
    assert run(tmp_path, "doctor", "--json") == cli.EXIT_PROBLEM
    report = json.loads(capsys.readouterr().out)
    failed = [c for c in report["checks"] if not c["ok"]]
    assert [c["fix"] for c in failed] == ["Run `ollama-mcp-tray enable`."]
    run(tmp_path, "enable")
    capsys.readouterr()
    assert run(tmp_path, "doctor", "--json") == 0
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    assert checks["server starts and lists tools"]["ok"]
    assert checks["Ollama answers"]["ok"]


def test_a_key_rejected_by_the_proxy_fails_the_key_check_with_a_fix(tmp_path, ollama, capsys):
    run(tmp_path, "config", "set", "ollama_url", ollama.url)
    run(tmp_path, "enable")
    ollama.faults.require_key = "right"
    capsys.readouterr()
    assert run(tmp_path, "doctor", "--json") == cli.EXIT_PROBLEM
    checks = json.loads(capsys.readouterr().out)["checks"]
    assert any(not c["ok"] and "set-key" in (c["fix"] or "") for c in checks)


def test_config_get_and_set_round_trip_and_reject_bad_values(tmp_path, capsys):
    assert run(tmp_path, "config", "set", "guard", "off") == 0
    assert run(tmp_path, "config", "get", "guard") == 0
    assert capsys.readouterr().out.splitlines()[-1] == "false"
    assert run(tmp_path, "config", "set", "poll_interval", "soon") == cli.EXIT_USAGE
    assert "takes a number" in capsys.readouterr().err


def test_a_broken_claude_json_exits_3_with_file_and_line_and_no_traceback(tmp_path):
    (tmp_path / ".claude.json").write_text('{\n  "a": 1,,\n}', encoding="utf-8")
    result = run_process(tmp_path, "enable")
    assert result.returncode == 3
    assert f"{tmp_path / '.claude.json'} (line 2, column 10)" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_a_usage_error_exits_2():
    result = subprocess.run(
        [sys.executable, "-m", "ollama_mcp_tray.tray", "enable", "--scope", "galaxy"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_set_key_reads_stdin_and_stores_the_key_readable_by_the_user_alone(tmp_path):
    result = run_process(tmp_path, "set-key", stdin="k3y-value\n")
    assert result.returncode == 0, result.stderr
    assert "k3y-value" not in result.stdout + result.stderr
    [key_file] = list(tmp_path.rglob("ollama.key"))
    assert key_file.read_text(encoding="utf-8") == "k3y-value\n"
    assert key_file.stat().st_mode & 0o777 == 0o600


def test_a_cli_command_imports_no_gui_module(tmp_path):
    probe = (
        "import sys\n"
        "from ollama_mcp_tray.tray.__main__ import main\n"
        "code = main(['config', 'get'])\n"
        "print(sorted(m for m in ('pystray', 'PIL', 'gi', 'tkinter') if m in sys.modules), code)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.splitlines()[-1] == "[] 0", result.stderr


def test_disable_all_removes_ours_from_every_scope_and_keeps_the_rest(tmp_path, capsys):
    project = tmp_path / "proj"
    project.mkdir()
    assert run(tmp_path, "enable") == 0
    assert run(tmp_path, "enable", "--scope", "local", "--project", str(project)) == 0
    assert run(tmp_path, "enable", "--scope", "project", "--project", str(project)) == 0
    document = json.loads((tmp_path / ".claude.json").read_text(encoding="utf-8"))
    document["mcpServers"]["other"] = {"type": "stdio", "command": "npx", "args": ["other"]}
    (tmp_path / ".claude.json").write_text(json.dumps(document), encoding="utf-8")
    capsys.readouterr()

    assert run(tmp_path, "disable", "--all") == 0
    out = capsys.readouterr().out
    assert out.count("Disabled:") == 3
    document = json.loads((tmp_path / ".claude.json").read_text(encoding="utf-8"))
    assert document["mcpServers"] == {"other": {"type": "stdio", "command": "npx", "args": ["other"]}}
    assert not (project / ".mcp.json").exists()  # enable created it; empty again, it goes (issue 8, item 19)
    assert run(tmp_path, "disable", "--all") == 0
    assert "No registrations found." in capsys.readouterr().out


def test_disable_all_leaves_a_foreign_server_of_our_name_alone(tmp_path, capsys):
    (tmp_path / ".claude.json").write_text('{"mcpServers": {"ollama": {"command": "npx"}}}', encoding="utf-8")
    assert run(tmp_path, "disable", "--all") == cli.EXIT_PROBLEM
    assert "Left alone (not ours)" in capsys.readouterr().out
    assert "npx" in (tmp_path / ".claude.json").read_text(encoding="utf-8")


def test_install_desktop_and_its_reverse_write_and_remove_the_menu_entry(tmp_path):
    data_home = tmp_path / "share"
    env = {
        "HOME": str(tmp_path),
        "PATH": "/usr/bin:/bin",
        "XDG_DATA_HOME": str(data_home),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    for argv, present in ((["install-desktop"], True), (["uninstall-desktop"], False)):
        done = subprocess.run(
            [sys.executable, "-m", "ollama_mcp_tray.tray", *argv], env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        assert (data_home / "applications" / "ollama-mcp-tray.desktop").exists() is present


def test_status_shows_todays_context_kept_out_of_claude(tmp_path, ollama, capsys):
    import time

    from ollama_mcp_tray.server.usage import UsageRecord, append_usage

    run(tmp_path, "config", "set", "ollama_url", ollama.url)
    usage = tmp_path / "data" / "usage.jsonl"
    now = time.time()
    append_usage(usage, UsageRecord(now, "summarize_files", "m", "ok", 900, 80, kept_out_tokens=120_000))
    append_usage(usage, UsageRecord(now, "ask_files", "m", "ok", 100, 20, kept_out_tokens=3_456))
    capsys.readouterr()
    assert run(tmp_path, "status") == 0
    assert "context kept out of Claude: 123456 tokens" in capsys.readouterr().out
    assert run(tmp_path, "status", "--json") == 0
    assert json.loads(capsys.readouterr().out)["usage_today"]["kept_out_tokens"] == 123_456


def test_list_and_number_settings_can_be_set_from_the_command_line(tmp_path, capsys):
    assert run(tmp_path, "config", "set", "allowed_folders", "/srv/docs, ~/notes") == 0
    assert run(tmp_path, "config", "set", "material_parallel", "2") == 0
    saved = json.loads((tmp_path / "cfg" / "settings.json").read_text(encoding="utf-8"))
    assert saved["allowed_folders"] == ["/srv/docs", "~/notes"] and saved["material_parallel"] == 2
    assert run(tmp_path, "config", "set", "material_parallel", "two") != 0


def test_enable_with_no_default_model_chooses_the_one_setup_would_and_says_so(tmp_path, ollama, capsys):
    run(tmp_path, "config", "set", "ollama_url", ollama.url)
    capsys.readouterr()
    assert run(tmp_path, "enable") == 0
    assert "Default model: qwen2.5-coder:3b" in capsys.readouterr().out
    settings = json.loads((tmp_path / "cfg" / "settings.json").read_text(encoding="utf-8"))
    assert settings["default_model"] == "qwen2.5-coder:3b"


def test_enable_keeps_a_default_model_the_user_chose(tmp_path, ollama, capsys):
    run(tmp_path, "config", "set", "ollama_url", ollama.url)
    run(tmp_path, "config", "set", "default_model", "llama3.2")
    capsys.readouterr()
    assert run(tmp_path, "enable") == 0
    assert "Default model" not in capsys.readouterr().out
    settings = json.loads((tmp_path / "cfg" / "settings.json").read_text(encoding="utf-8"))
    assert settings["default_model"] == "llama3.2"


def test_enable_with_ollama_down_still_registers_and_says_no_model_was_set(tmp_path, ollama, capsys):
    run(tmp_path, "config", "set", "ollama_url", ollama.url)
    ollama.stop()
    assert run(tmp_path, "enable") == 0
    assert "No default model is set" in capsys.readouterr().err
    assert "ollama" in json.loads((tmp_path / ".claude.json").read_text(encoding="utf-8"))["mcpServers"]
