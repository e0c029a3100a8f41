"""The Ollama servers the user saved (this machine, a GPU box behind a proxy) and which one is active.

The shape in settings.json, beside the settings the server reads::

    "servers": [{"id": "this-machine", "name": "This machine", "url": "http://127.0.0.1:11434",
                 "key_header": "X-Ollama-Key", "auth_scheme": "header"}, ...],
    "active_server": "this-machine"

What the server reads stays where it always was: `ollama_url`, `key_header` and `auth_scheme` at the top of the
settings file and the key in `ollama.key`. Those are the *active* server's values and win over its list entry,
so the Settings window and `config set ollama_url` keep editing the active server. An older settings file (no
list) is one server made from them. A server that is not active keeps its key in `servers/<id>.key` (0600, in a
0700 folder), never in settings.json.

Switching writes in an order that never pairs one server's address with another's key, for a server process
that reads the files between two writes: the old key is put aside and `ollama.key` removed, then the settings
(the new address) are written atomically through `save_settings`, then the new key is stored.
"""

from __future__ import annotations

import ipaddress
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ollama_mcp_tray.server.errors import ConfigError
from ollama_mcp_tray.server.paths import AppPaths
from ollama_mcp_tray.server.settings import (
    DEFAULT_KEY_HEADER,
    read_key_file,
    read_settings_document,
    settings_from_dict,
)

from .app_settings import InvalidValue, check_url, clean_key, delete_key, parse_setting, save_settings, store_key

LIST_KEY = "servers"
ACTIVE_KEY = "active_server"
THIS_MACHINE = "This machine"
_SLUG = re.compile(r"[^a-z0-9]+")
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


@dataclass(frozen=True)
class SavedServer:
    """One saved Ollama: how to reach it and how its key is sent (the key itself lives in a file)."""

    id: str
    name: str
    url: str
    key_header: str = DEFAULT_KEY_HEADER
    auth_scheme: str = "header"

    def to_dict(self) -> dict[str, str]:
        return {
            "id": self.id,
            "name": self.name,
            "url": self.url,
            "key_header": self.key_header,
            "auth_scheme": self.auth_scheme,
        }

    @property
    def on_this_machine(self) -> bool:
        return is_this_machine(self.url)


@dataclass(frozen=True)
class ServerBook:
    """The saved servers, in the user's order, and the id of the active one."""

    servers: tuple[SavedServer, ...]
    active_id: str

    @property
    def active(self) -> SavedServer:
        return next(s for s in self.servers if s.id == self.active_id)

    def find(self, server_id: str) -> SavedServer:
        """Raises: InvalidValue when no saved server has that id."""
        for server in self.servers:
            if server.id == server_id:
                return server
        raise InvalidValue(f"There is no saved server {server_id!r}; the servers are: {self.names()}.")

    def names(self) -> str:
        return ", ".join(s.name for s in self.servers)


def is_this_machine(url: str) -> bool:
    """Whether an Ollama address is this machine (loopback): the icon marks every other one.

    >>> is_this_machine("http://127.0.0.1:11434"), is_this_machine("http://[::1]:11434")
    (True, True)
    >>> is_this_machine("http://localhost:11434"), is_this_machine("https://gpu.lan:8443")
    (True, False)
    """
    host = urllib.parse.urlsplit(url).hostname or ""
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def slug(name: str) -> str:
    """An id made from a name, for the key file's name.

    >>> slug("GPU box (office)")
    'gpu-box-office'
    >>> slug("***")
    'server'
    """
    return _SLUG.sub("-", name.lower()).strip("-")[:40] or "server"


def _unique_id(name: str, taken: set[str]) -> str:
    base = slug(name)
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def default_name(url: str) -> str:
    """The name of the server an older settings file describes: "This machine", or its host."""
    return THIS_MACHINE if is_this_machine(url) else urllib.parse.urlsplit(url).hostname or url


def _entry(raw: Any, where: str) -> SavedServer:
    if not isinstance(raw, dict) or not all(isinstance(raw.get(k), str) for k in ("id", "name", "url")):
        raise ConfigError(
            f"{where}: each entry of 'servers' needs an id, a name and a url (strings), not {raw!r}. "
            "Fix or remove it (the Servers window rewrites the list)."
        )
    scheme = raw.get("auth_scheme", "header")
    header = raw.get("key_header", DEFAULT_KEY_HEADER)
    if scheme not in ("header", "bearer") or not isinstance(header, str):
        raise ConfigError(f'{where}: server {raw["id"]!r} needs auth_scheme "header" or "bearer".')
    return SavedServer(str(raw["id"]), str(raw["name"]), str(raw["url"]), header or DEFAULT_KEY_HEADER, str(scheme))


def book_from_document(document: Mapping[str, Any], where: str = "settings") -> ServerBook:
    """The servers a settings document describes; the active one takes the top-level values (what the server
    reads). A document without a list is one server made from those values.

    Raises:
        ConfigError: the list or a top-level value has the wrong shape.
    """
    settings = settings_from_dict(dict(document), source=where)
    raw = document.get(LIST_KEY)
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        raise ConfigError(f"{where}: 'servers' should be a list of servers, not {raw!r}.")
    servers = [_entry(item, where) for item in raw]
    seen: set[str] = set()
    for server in servers:
        if server.id in seen:
            raise ConfigError(f"{where}: two servers have the id {server.id!r}; give one another id.")
        seen.add(server.id)
    active_id = document.get(ACTIVE_KEY)
    index = next((i for i, s in enumerate(servers) if s.id == active_id), None)
    if index is None:  # no list yet, or the active one was edited away by hand: what the server reads
        index = next((i for i, s in enumerate(servers) if s.url == settings.ollama_url), None)
    if index is None:
        name = default_name(settings.ollama_url)
        servers.insert(0, SavedServer(_unique_id(name, seen), name, settings.ollama_url))
        index = 0
    servers[index] = replace(
        servers[index], url=settings.ollama_url, key_header=settings.key_header, auth_scheme=settings.auth_scheme
    )
    return ServerBook(tuple(servers), servers[index].id)


def read_book(paths: AppPaths) -> ServerBook:
    """Raises: ConfigError when the settings file does not parse or its list is malformed."""
    return book_from_document(read_settings_document(paths.settings_file), str(paths.settings_file))


def stash_file(paths: AppPaths, server_id: str) -> Path:
    """Where the key of a server that is not active is kept."""
    return paths.config_dir / "servers" / f"{server_id}.key"


def key_of(paths: AppPaths, book: ServerBook, server_id: str) -> str | None:
    """The stored key of a saved server (the active one's is the key file the server reads).

    Raises:
        ConfigError: the key file is readable by others, or cannot be read.
    """
    path = paths.key_file if server_id == book.active_id else stash_file(paths, server_id)
    return read_key_file(path)


def has_key(paths: AppPaths, book: ServerBook, server_id: str) -> bool:
    path = paths.key_file if server_id == book.active_id else stash_file(paths, server_id)
    return path.exists()


def _checked(name: str, url: str, key_header: str, auth_scheme: str) -> tuple[str, str, str, str]:
    name = name.strip()
    if not name:
        raise InvalidValue("Give the server a name (for example: GPU box).")
    if len(name) > 60:
        raise InvalidValue("Keep the server's name under 60 characters: the menu shows it.")
    return (
        name,
        check_url("address", url),
        parse_setting("key_header", key_header or DEFAULT_KEY_HEADER),
        parse_setting("auth_scheme", auth_scheme or "header"),
    )


def _write(paths: AppPaths, book: ServerBook, extra: Mapping[str, Any] | None = None) -> None:
    updates: dict[str, Any] = {LIST_KEY: [s.to_dict() for s in book.servers], ACTIVE_KEY: book.active_id}
    updates.update(extra or {})
    save_settings(paths.settings_file, updates)


def _top_level(server: SavedServer) -> dict[str, str]:
    return {"ollama_url": server.url, "key_header": server.key_header, "auth_scheme": server.auth_scheme}


def _set_key(path: Path, key: str | None) -> None:
    if key:
        store_key(path, key)
    else:
        delete_key(path)


def add_server(
    paths: AppPaths, name: str, url: str, key_header: str = "", auth_scheme: str = "", key: str | None = None
) -> SavedServer:
    """Save a new server (not active). Its key, if given, goes to its own private file.

    Raises:
        InvalidValue: a field the server cannot take (nothing written).
        ConfigError: the settings file does not parse.
    """
    book = read_book(paths)
    name, url, key_header, auth_scheme = _checked(name, url, key_header, auth_scheme)
    if any(s.name.lower() == name.lower() for s in book.servers):
        raise InvalidValue(f"A server named {name!r} is saved already; choose another name or edit that one.")
    server = SavedServer(_unique_id(name, {s.id for s in book.servers}), name, url, key_header, auth_scheme)
    if key:
        store_key(stash_file(paths, server.id), clean_key(key))
    _write(paths, replace(book, servers=(*book.servers, server)))
    return server


def update_server(
    paths: AppPaths,
    server_id: str,
    name: str,
    url: str,
    key_header: str = "",
    auth_scheme: str = "",
    key: str | None = None,
    *,
    forget_key: bool = False,
) -> SavedServer:
    """Change a saved server. The active one's changes reach what the server reads at once. `key` None keeps
    the stored key; `forget_key` removes it.

    Raises:
        InvalidValue: unknown id or a field the server cannot take (nothing written).
        ConfigError: the settings file does not parse.
    """
    book = read_book(paths)
    old = book.find(server_id)
    name, url, key_header, auth_scheme = _checked(name, url, key_header, auth_scheme)
    if any(s.name.lower() == name.lower() and s.id != server_id for s in book.servers):
        raise InvalidValue(f"Another server is named {name!r}; choose another name.")
    server = replace(old, name=name, url=url, key_header=key_header, auth_scheme=auth_scheme)
    servers = tuple(server if s.id == server_id else s for s in book.servers)
    active = server_id == book.active_id
    key_path = paths.key_file if active else stash_file(paths, server_id)
    new_key = clean_key(key) if key is not None and key.strip() else None
    change_key = bool(new_key) or forget_key
    if active and change_key:
        delete_key(key_path)  # the old key goes before the address changes, as in a switch
    _write(paths, replace(book, servers=servers), _top_level(server) if active else None)
    if change_key:
        _set_key(key_path, new_key)
    return server


def remove_server(paths: AppPaths, server_id: str) -> None:
    """Forget a saved server and its key. The active one stays: make another active first.

    Raises:
        InvalidValue: unknown id, or the active server.
    """
    book = read_book(paths)
    server = book.find(server_id)
    if server_id == book.active_id:
        raise InvalidValue(f"{server.name} is the active server: make another one active before removing it.")
    _write(paths, replace(book, servers=tuple(s for s in book.servers if s.id != server_id)))
    delete_key(stash_file(paths, server_id))


def activate(paths: AppPaths, server_id: str) -> SavedServer:
    """Make a saved server the one Claude Code's server and the tray use.

    Raises:
        InvalidValue: unknown id.
        ConfigError: the settings file does not parse, or a key file cannot be read.
    """
    book = read_book(paths)
    target = book.find(server_id)
    if server_id == book.active_id:
        return target
    previous = book.active
    old_key = read_key_file(paths.key_file)
    new_key = read_key_file(stash_file(paths, server_id))
    # 1. The old key put aside, and taken away from what the server reads.
    _set_key(stash_file(paths, previous.id), old_key)
    delete_key(paths.key_file)
    # 2. The new address (and the list) in one atomic write; 3. the new key.
    _write(paths, replace(book, active_id=server_id), _top_level(target))
    if new_key:
        store_key(paths.key_file, new_key)
    delete_key(stash_file(paths, server_id))
    return target
