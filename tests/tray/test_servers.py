"""Saved Ollama servers: the settings shape (old files keep working), where keys live, and switching."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ollama_mcp_tray.server.config import resolve_config
from ollama_mcp_tray.server.errors import ConfigError
from ollama_mcp_tray.server.paths import AppPaths
from ollama_mcp_tray.tray import servers
from ollama_mcp_tray.tray.app_settings import InvalidValue, save_settings, store_key


@pytest.fixture
def paths(tmp_path: Path) -> AppPaths:
    return AppPaths(tmp_path / "config", tmp_path / "data", tmp_path / "logs")


def document(paths: AppPaths) -> dict[str, object]:
    return dict(json.loads(paths.settings_file.read_text(encoding="utf-8")))


def test_an_old_settings_file_is_one_server_made_from_its_address(paths: AppPaths) -> None:
    save_settings(paths.settings_file, {"ollama_url": "http://127.0.0.1:11500", "auth_scheme": "bearer"})
    book = servers.read_book(paths)
    assert [(s.name, s.url, s.auth_scheme) for s in book.servers] == [
        ("This machine", "http://127.0.0.1:11500", "bearer")
    ]
    assert book.active.id == "this-machine"
    remote = servers.book_from_document({"ollama_url": "https://gpu.lan:8443"})
    assert remote.active.name == "gpu.lan" and not remote.active.on_this_machine


def test_no_settings_file_at_all_is_this_machine_at_the_default_address(paths: AppPaths) -> None:
    book = servers.read_book(paths)
    assert book.active.url == "http://127.0.0.1:11434" and book.active.on_this_machine


def test_adding_keeps_the_key_out_of_settings_json_in_a_private_file(paths: AppPaths) -> None:
    save_settings(paths.settings_file, {"ollama_url": "http://127.0.0.1:11434", "theme_of_a_newer_tray": "x"})
    added = servers.add_server(paths, "GPU box", "gpubox.lan:8443", "X-Proxy-Key", "header", key="s3cret")
    assert added.url == "http://gpubox.lan:8443" and added.id == "gpu-box"
    text = paths.settings_file.read_text(encoding="utf-8")
    assert "s3cret" not in text
    saved = document(paths)
    assert saved["theme_of_a_newer_tray"] == "x"  # a key we do not own survives
    assert saved["active_server"] == "this-machine"
    assert [s["name"] for s in saved["servers"]] == ["This machine", "GPU box"]  # type: ignore[union-attr,index]
    stash = servers.stash_file(paths, "gpu-box")
    assert stash.read_text(encoding="utf-8").strip() == "s3cret"
    assert stash.stat().st_mode & 0o777 == 0o600 and stash.parent.stat().st_mode & 0o777 == 0o700
    assert not paths.key_file.exists()  # the active server has no key: nothing changed for the server


def test_a_bad_field_writes_nothing(paths: AppPaths) -> None:
    with pytest.raises(InvalidValue, match="address"):
        servers.add_server(paths, "Box", "not a url", key="k")
    with pytest.raises(InvalidValue, match="name"):
        servers.add_server(paths, "  ", "http://box:1")
    with pytest.raises(InvalidValue, match="header or bearer"):
        servers.add_server(paths, "Box", "http://box:1", auth_scheme="basic")
    assert not paths.settings_file.exists()
    assert not servers.stash_file(paths, "box").exists()


def test_switching_moves_the_keys_and_the_server_resolves_the_new_one(paths: AppPaths) -> None:
    save_settings(paths.settings_file, {"ollama_url": "http://127.0.0.1:11434"})
    store_key(paths.key_file, "local-key")
    servers.add_server(paths, "GPU box", "http://10.0.0.7:8080", "", "bearer", key="gpu-key")

    servers.activate(paths, "gpu-box")
    config = resolve_config({}, paths)
    assert (config.base_url, config.key, config.auth_scheme) == ("http://10.0.0.7:8080", "gpu-key", "bearer")
    assert config.auth_headers() == {"Authorization": "Bearer gpu-key"}
    assert servers.stash_file(paths, "this-machine").read_text(encoding="utf-8").strip() == "local-key"
    assert not servers.stash_file(paths, "gpu-box").exists()
    book = servers.read_book(paths)
    assert book.active.name == "GPU box"
    assert servers.key_of(paths, book, "this-machine") == "local-key"

    servers.activate(paths, "this-machine")
    config = resolve_config({}, paths)
    assert (config.base_url, config.key, config.auth_scheme) == ("http://127.0.0.1:11434", "local-key", "header")
    assert servers.stash_file(paths, "gpu-box").read_text(encoding="utf-8").strip() == "gpu-key"


def test_switching_to_a_server_without_a_key_leaves_no_key_behind(paths: AppPaths) -> None:
    save_settings(paths.settings_file, {"ollama_url": "http://10.0.0.7:8080"})
    store_key(paths.key_file, "gpu-key")
    local = servers.add_server(paths, "Laptop", "http://127.0.0.1:11434")
    servers.activate(paths, local.id)
    assert resolve_config({}, paths).key is None
    assert not paths.key_file.exists()


def test_the_settings_window_edits_the_active_server(paths: AppPaths) -> None:
    servers.add_server(paths, "GPU box", "http://10.0.0.7:8080")
    save_settings(paths.settings_file, {"ollama_url": "http://127.0.0.1:12000"})  # as the Settings window does
    book = servers.read_book(paths)
    assert book.active.url == "http://127.0.0.1:12000"
    servers.activate(paths, "gpu-box")
    servers.activate(paths, "this-machine")
    assert resolve_config({}, paths).base_url == "http://127.0.0.1:12000"


def test_editing_renaming_and_removing(paths: AppPaths) -> None:
    servers.add_server(paths, "GPU box", "http://10.0.0.7:8080", key="one")
    servers.update_server(paths, "gpu-box", "Big GPU", "http://10.0.0.8:8080")
    book = servers.read_book(paths)
    assert book.find("gpu-box").name == "Big GPU" and book.find("gpu-box").url == "http://10.0.0.8:8080"
    assert servers.key_of(paths, book, "gpu-box") == "one"  # no key given: the key stays
    servers.update_server(paths, "gpu-box", "Big GPU", "http://10.0.0.8:8080", key="two")
    assert servers.key_of(paths, servers.read_book(paths), "gpu-box") == "two"
    with pytest.raises(InvalidValue, match="active server"):
        servers.remove_server(paths, "this-machine")
    with pytest.raises(InvalidValue, match="named"):
        servers.add_server(paths, "big gpu", "http://10.0.0.9:8080")
    servers.remove_server(paths, "gpu-box")
    assert [s.id for s in servers.read_book(paths).servers] == ["this-machine"]
    assert not servers.stash_file(paths, "gpu-box").exists()


def test_editing_the_active_server_reaches_what_the_server_reads(paths: AppPaths) -> None:
    servers.update_server(paths, "this-machine", "Home", "http://127.0.0.1:11999", "X-K", "header", key="k1")
    config = resolve_config({}, paths)
    assert (config.base_url, config.key, config.key_header) == ("http://127.0.0.1:11999", "k1", "X-K")
    servers.update_server(paths, "this-machine", "Home", "http://127.0.0.1:11999", forget_key=True)
    assert resolve_config({}, paths).key is None


def test_a_malformed_list_is_an_error_that_says_what_to_fix(paths: AppPaths) -> None:
    paths.config_dir.mkdir(parents=True)
    paths.settings_file.write_text(json.dumps({"servers": [{"name": "x"}]}), encoding="utf-8")
    with pytest.raises(ConfigError, match="needs an id, a name and a url"):
        servers.read_book(paths)
    # The server itself ignores the list: it keeps working from the top-level values.
    assert resolve_config({}, paths).base_url == "http://127.0.0.1:11434"


def test_an_active_id_that_names_no_entry_falls_back_to_what_the_server_reads() -> None:
    book = servers.book_from_document(
        {
            "ollama_url": "http://10.0.0.7:8080",
            "servers": [{"id": "a", "name": "A", "url": "http://127.0.0.1:11434"}],
            "active_server": "gone",
        }
    )
    assert [s.id for s in book.servers] == ["10-0-0-7", "a"] and book.active.url == "http://10.0.0.7:8080"


def test_the_examples_in_the_docstrings_hold() -> None:
    import doctest

    from ollama_mcp_tray.tray.gui import menu_model
    from ollama_mcp_tray.tray.gui.windows import settings_window

    for module in (servers, menu_model, settings_window):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0, module.__name__
