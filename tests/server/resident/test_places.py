"""The relay's stdlib answers for the app's folders match platformdirs', and the socket's folder is private."""

from __future__ import annotations

import os
import shutil
import socket
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from platformdirs.macos import MacOS
from platformdirs.unix import Unix

from ollama_mcp_tray.server.paths import APP_NAME, AppPaths
from ollama_mcp_tray.server.resident.places import (
    AppDirs,
    PlaceError,
    Places,
    app_dirs,
    folder_set_key,
    idle_seconds,
    resident_enabled,
)
from ollama_mcp_tray.server.resident.service import bind_private

XDG = ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR")
CASES = [
    {},
    {"XDG_CONFIG_HOME": "/x/config", "XDG_DATA_HOME": "/x/data", "XDG_STATE_HOME": "/x/state"},
    {"XDG_CONFIG_HOME": "relative/ignored", "XDG_DATA_HOME": "", "XDG_STATE_HOME": "/s"},
]


def _platformdirs(cls: type, env: dict[str, str], monkeypatch: pytest.MonkeyPatch, home: Path) -> AppDirs:
    monkeypatch.setenv("HOME", str(home))
    for name in XDG:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    dirs = cls(APP_NAME, appauthor=False)
    return AppDirs(Path(dirs.user_config_dir), Path(dirs.user_data_dir), Path(dirs.user_log_dir))


@pytest.mark.parametrize("env", CASES)
@pytest.mark.parametrize(("platform", "cls"), [("linux", Unix), ("darwin", MacOS)])
def test_the_folders_are_the_ones_platformdirs_gives(env, platform, cls, monkeypatch, tmp_path):
    expected = _platformdirs(cls, env, monkeypatch, tmp_path)
    assert app_dirs({"HOME": str(tmp_path), **env}, platform) == expected


def test_on_this_machine_they_are_the_app_paths_the_server_uses():
    paths = AppPaths.default()
    assert app_dirs() == AppDirs(paths.config_dir, paths.data_dir, paths.log_dir)


def test_each_set_of_app_folders_has_its_own_socket_and_lock(tmp_path):
    one = Places.from_env({"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "a")})
    two = Places.from_env({"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "b")})
    assert one.key != two.key and one.socket != two.socket and one.lock.name == f"resident-{one.key}.lock"
    assert one.key == folder_set_key(one.dirs) and len(one.key) == 10


@pytest.fixture
def short_home() -> Iterator[Path]:
    """A HOME with a path short enough for the socket to live under the data folder."""
    home = Path(tempfile.mkdtemp(prefix="rly-"))
    try:
        yield home
    finally:
        shutil.rmtree(home)


def test_the_socket_folder_is_created_private_and_the_socket_is_born_0600(short_home):
    places = Places.from_env({"HOME": str(short_home)})
    assert places.socket_dir == places.dirs.data_dir / "run"
    old = os.umask(0o022)
    try:
        places.ensure_socket_dir()
        sock, inode = bind_private(str(places.socket))
    finally:
        os.umask(old)
    try:
        assert stat.S_IMODE(places.socket_dir.stat().st_mode) == 0o700
        st = places.socket.lstat()
        assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600 and st.st_ino == inode
    finally:
        sock.close()


def test_a_runtime_dir_of_ours_holds_the_socket_and_a_long_path_falls_back_to_a_strict_tmp_folder(tmp_path, short_home):
    runtime = short_home / "run"
    runtime.mkdir(mode=0o700)
    places = Places.from_env({"HOME": str(short_home), "XDG_RUNTIME_DIR": str(runtime)})
    assert places.socket_dir == runtime / APP_NAME and not places.strict_dir
    deep = tmp_path / ("d" * 120)
    far = Places.from_env({"HOME": str(deep), "XDG_RUNTIME_DIR": str(deep)})
    assert far.socket_dir == Path(f"/tmp/{APP_NAME}-{os.getuid()}") and far.strict_dir
    assert len(os.fsencode(far.socket)) <= 100


def test_a_tmp_folder_that_is_not_private_or_is_a_symlink_is_refused(tmp_path):
    places = Places(app_dirs({"HOME": str(tmp_path)}), tmp_path / "shared", "0123456789", strict_dir=True)
    (tmp_path / "shared").mkdir(mode=0o755)
    os.chmod(tmp_path / "shared", 0o755)
    with pytest.raises(PlaceError, match="not private"):
        places.ensure_socket_dir()
    (tmp_path / "elsewhere").mkdir(mode=0o700)
    (tmp_path / "link").symlink_to(tmp_path / "elsewhere")
    linked = Places(places.dirs, tmp_path / "link", places.key, strict_dir=True)
    with pytest.raises(PlaceError, match="not a folder of this user"):
        linked.ensure_socket_dir()


def test_the_switch_reads_the_environment_then_the_settings_file(tmp_path):
    settings = tmp_path / "settings.json"
    assert resident_enabled({}, settings, "linux")  # no file: on
    settings.write_text('{"resident": false}', encoding="utf-8")
    assert not resident_enabled({}, settings, "linux")
    assert resident_enabled({"OLLAMA_MCP_RESIDENT": "on"}, settings, "linux")
    assert not resident_enabled({"OLLAMA_MCP_RESIDENT": "0"}, None, "linux")
    settings.write_text("{not json", encoding="utf-8")
    assert resident_enabled({}, settings, "linux")  # a bad file: the default (the server reports the file)
    assert not resident_enabled({"OLLAMA_MCP_RESIDENT": "1"}, settings, "win32")  # no resident on Windows


def test_the_idle_delay_comes_from_the_environment_then_the_settings(tmp_path):
    settings = tmp_path / "settings.json"
    assert idle_seconds({}, settings) == 900
    settings.write_text('{"resident_idle_minutes": 2}', encoding="utf-8")
    assert idle_seconds({}, settings) == 120
    assert idle_seconds({"OLLAMA_MCP_RESIDENT_IDLE_S": "5"}, settings) == 5
    assert idle_seconds({"OLLAMA_MCP_RESIDENT_IDLE_S": "soon"}, settings) == 120


def test_the_peer_of_a_unix_socket_is_this_user(tmp_path):
    from ollama_mcp_tray.server.resident.peer import peer_uid

    left, right = socket.socketpair(socket.AF_UNIX)
    with left, right:
        assert peer_uid(left) == os.getuid()
