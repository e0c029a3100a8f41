import doctest
import json
import os

import pytest

import ollama_mcp_tray.server.config as config_module
from ollama_mcp_tray.server.config import parse_host, resolve_config
from ollama_mcp_tray.server.errors import ConfigError
from ollama_mcp_tray.server.paths import AppPaths
from ollama_mcp_tray.server.settings import Settings


@pytest.fixture
def paths(tmp_path):
    return AppPaths(config_dir=tmp_path / "config", data_dir=tmp_path / "data", log_dir=tmp_path / "log")


def test_every_host_form_in_the_docstring_parses_as_documented():
    result = doctest.testmod(config_module)
    assert result.attempted >= 10 and result.failed == 0


@pytest.mark.parametrize("bad", ["ftp://x", "http://[::1"])
def test_an_unusable_host_is_a_config_error_naming_it(bad):
    with pytest.raises(ConfigError, match=r"Ollama address|scheme"):
        parse_host(bad)


def test_defaults_apply_with_no_environment_and_no_files(paths):
    cfg = resolve_config(env={}, paths=paths)
    assert cfg.base_url == "http://127.0.0.1:11434"
    assert cfg.key is None and cfg.auth_headers() == {}
    assert cfg.default_model is None and not cfg.allow_model_management
    assert cfg.timeouts.total is None


def test_ollama_url_wins_over_ollama_host_and_the_settings_file(paths):
    paths.config_dir.mkdir(parents=True)
    paths.settings_file.write_text(json.dumps({"ollama_url": "http://settings:1"}), encoding="utf-8")
    env = {"OLLAMA_URL": "https://remote.example/ollama/", "OLLAMA_HOST": "other:2"}
    assert resolve_config(env=env, paths=paths).base_url == "https://remote.example:443/ollama"
    assert resolve_config(env={"OLLAMA_HOST": "other:2"}, paths=paths).base_url == "http://other:2"
    assert resolve_config(env={}, paths=paths).base_url == "http://settings:1"


def test_the_key_goes_in_the_configured_header_or_as_a_bearer_token(paths):
    cfg = resolve_config(env={"OLLAMA_KEY": "s3cret"}, paths=paths)
    assert cfg.auth_headers() == {"X-Ollama-Key": "s3cret"}
    cfg = resolve_config(env={"OLLAMA_KEY": "s3cret", "OLLAMA_KEY_HEADER": "X-Api-Key"}, paths=paths)
    assert cfg.auth_headers() == {"X-Api-Key": "s3cret"}
    cfg = resolve_config(env={"OLLAMA_KEY": "s3cret", "OLLAMA_AUTH_SCHEME": "bearer"}, paths=paths)
    assert cfg.auth_headers() == {"Authorization": "Bearer s3cret"}
    assert "s3cret" not in repr(cfg)


def test_the_key_file_is_used_when_the_environment_has_no_key(paths):
    paths.config_dir.mkdir(parents=True)
    paths.key_file.write_text("from-file\n", encoding="utf-8")
    paths.key_file.chmod(0o600)
    assert resolve_config(env={}, paths=paths).key == "from-file"
    assert resolve_config(env={"OLLAMA_KEY": "env"}, paths=paths).key == "env"


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_a_key_file_others_can_read_is_refused_with_the_chmod_that_fixes_it(paths):
    paths.config_dir.mkdir(parents=True)
    paths.key_file.write_text("k", encoding="utf-8")
    paths.key_file.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        resolve_config(env={}, paths=paths)


def test_a_settings_file_that_does_not_parse_names_the_file_and_position(paths):
    paths.config_dir.mkdir(parents=True)
    paths.settings_file.write_text('{"ollama_url": ', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"settings.json is not valid JSON \(line 1"):
        resolve_config(env={}, paths=paths)


def test_a_settings_value_of_the_wrong_type_is_named(paths):
    paths.config_dir.mkdir(parents=True)
    paths.settings_file.write_text('{"poll_interval": "fast"}', encoding="utf-8")
    with pytest.raises(ConfigError, match="'poll_interval' should be float"):
        resolve_config(env={}, paths=paths)


def test_timeouts_and_management_come_from_the_environment(paths):
    env = {
        "OLLAMA_CONNECT_TIMEOUT": "2",
        "OLLAMA_IDLE_TIMEOUT": "30",
        "OLLAMA_MAX_TIME": "600",
        "OLLAMA_MCP_ALLOW_MANAGEMENT": "1",
        "OLLAMA_DEFAULT_MODEL": "llama3.2",
    }
    cfg = resolve_config(env=env, paths=paths)
    assert (cfg.timeouts.connect, cfg.timeouts.idle, cfg.timeouts.total) == (2, 30, 600)
    assert cfg.allow_model_management and cfg.default_model == "llama3.2"
    with pytest.raises(ConfigError, match="OLLAMA_IDLE_TIMEOUT must be a number"):
        resolve_config(env={"OLLAMA_IDLE_TIMEOUT": "soon"}, paths=paths)


def test_settings_object_is_used_as_given_without_reading_files(tmp_path):
    cfg = resolve_config(env={}, settings=Settings(default_model="m", idle_timeout=9))
    assert cfg.default_model == "m" and cfg.timeouts.idle == 9
