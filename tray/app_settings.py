"""Writing the app's settings file and key file (the server's `settings.py` reads them).

Both are written whole and atomically, readable by the user alone (0600), in the app's private folder (0700).
Keys of the settings file this version does not know are kept, so an older tray never erases what a newer one
saved.

`SETTINGS` is the one table of what each setting means and accepts: `config get/set --help` prints it and
`parse_setting` checks a typed value against it, so the two cannot disagree.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from ollama_mcp_tray.server.config import parse_host
from ollama_mcp_tray.server.errors import ConfigError, OllamaMcpError
from ollama_mcp_tray.server.paths import make_private_dir
from ollama_mcp_tray.server.settings import DEFAULT_OLLAMA_URL, Settings, read_settings_document, settings_from_dict

from .configfile.safe_edit import write_atomic

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
# Claude Code's rule for server names (`claude mcp add` refuses others).
_SERVER_NAME = re.compile(r"[A-Za-z0-9_-]+")
# An HTTP header name is an RFC 9110 token.
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_HOST_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")


class InvalidValue(OllamaMcpError):
    """A value typed by the user is not one the setting accepts (a usage error: nothing was written)."""


@dataclass(frozen=True)
class SettingSpec:
    """What a setting means, what it accepts (for the help), and how a typed value is read and checked."""

    meaning: str
    allowed: str
    parse: Callable[[str, str], Any]  # (name, typed value) -> value to store; raises InvalidValue


def _boolean(name: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered not in _TRUE | _FALSE:
        raise InvalidValue(f"{name} takes true or false (also yes/no, on/off, 1/0), not {raw!r}.")
    return lowered in _TRUE


def _seconds(minimum: float, *, zero: bool = False) -> Callable[[str, str], float]:
    def parse(name: str, raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if math.isfinite(value) and (value >= minimum or (zero and value == 0)):
            return value
        allowed = f"a number of seconds, at least {minimum:g}" + (", or 0" if zero else "")
        raise InvalidValue(f"{name} takes {allowed}; {raw!r} is not.")

    return parse


def _whole(minimum: int) -> Callable[[str, str], int]:
    def parse(name: str, raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError as exc:
            raise InvalidValue(f"{name} takes a whole number, at least {minimum}, not {raw!r}.") from exc
        if value < minimum:
            raise InvalidValue(f"{name} takes a whole number, at least {minimum}, not {raw!r}.")
        return value

    return parse


def _strings(name: str, raw: str) -> list[str]:
    """A JSON list of strings, or comma-separated values ('' clears the list)."""
    if not raw.strip().startswith("["):
        return [part.strip() for part in raw.split(",") if part.strip()]
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidValue(f"{name} takes a JSON list of strings or comma-separated values, not {raw!r}.")
    return value


def _choice(*choices: str) -> Callable[[str, str], str]:
    def parse(name: str, raw: str) -> str:
        value = raw.strip().lower()
        if value not in choices:
            raise InvalidValue(f"{name} takes {' or '.join(choices)}, not {raw!r}.")
        return value

    return parse


def _pattern(pattern: re.Pattern[str], what: str) -> Callable[[str, str], str]:
    def parse(name: str, raw: str) -> str:
        value = raw.strip()
        if not pattern.fullmatch(value):
            raise InvalidValue(f"{name} takes {what}, not {raw!r}.")
        return value

    return parse


def _model(name: str, raw: str) -> str:
    value = raw.strip()
    if any(c.isspace() for c in value):
        raise InvalidValue(f"{name} takes a model name as `ollama list` shows it (no spaces), not {raw!r}.")
    return value


def _ca_file(name: str, raw: str) -> str:
    value = raw.strip()
    if not value:
        return ""
    path = Path(value).expanduser()
    if not path.is_file():
        raise InvalidValue(f"{name}: there is no file {path}. Give the PEM certificate of your proxy's CA, or ''.")
    # Stored absolute: the server starts in whatever folder Claude Code runs in.
    return str(path.absolute())


def check_url(name: str, raw: str) -> str:
    """An Ollama address as `OLLAMA_HOST` takes it, normalised to a base URL.

    A bare word such as `foo` is refused although the Ollama CLI would read it as `http://foo:11434`: typed here
    it is almost always a slip (a model name, a missing scheme), and a real single-label host is still one
    keystroke away (`foo:11434` or `http://foo`).
    """
    value = raw.strip()
    if not value:
        return DEFAULT_OLLAMA_URL
    hint = "an address such as http://127.0.0.1:11434, https://ollama.example.com or gpubox.lan:11434"
    _scheme, sep, rest = value.partition("://")
    netloc = (rest if sep else value).split("/", 1)[0]
    host, port_sep, _port = netloc.rpartition(":") if not netloc.endswith("]") else (netloc, "", "")
    host = host if port_sep else netloc
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        ipaddress.ip_address(host)
        literal = True
    except ValueError:
        literal = False
    if any(c.isspace() for c in value) or (host and not literal and not _HOST_NAME.fullmatch(host)):
        raise InvalidValue(f"{name} takes {hint}; {raw!r} is not one.")
    if sep and not host:
        raise InvalidValue(f"{name}: {raw!r} names no host. Use {hint}.")
    if not sep and not port_sep and not literal and "." not in host and host != "localhost":
        raise InvalidValue(
            f"{name}: {raw!r} is a bare word, not an address. If it is a host name, say so with a scheme or "
            f"a port (http://{host} or {host}:11434); otherwise use {hint}."
        )
    try:
        return parse_host(value)
    except ConfigError as exc:
        raise InvalidValue(f"{name}: {exc} Use {hint}.") from exc


SETTINGS: dict[str, SettingSpec] = {
    "ollama_url": SettingSpec(
        "Ollama's address (OLLAMA_URL / OLLAMA_HOST in the environment win over it)",
        "http(s)://host[:port][/path], or host:port; '' for the default",
        check_url,
    ),
    "default_model": SettingSpec(
        "the model a tool call uses when it names none", "an installed model's name; '' for none", _model
    ),
    "server_name": SettingSpec(
        "the server's name in Claude Code (tools appear as mcp__<name>__...)",
        "letters, digits, - and _",
        _pattern(_SERVER_NAME, "letters, digits, - and _ only"),
    ),
    "key_header": SettingSpec(
        "the HTTP header that carries the key (with auth_scheme header)",
        "an HTTP header name",
        _pattern(_HEADER_NAME, "an HTTP header name (letters, digits, - and a few symbols, no spaces)"),
    ),
    "auth_scheme": SettingSpec(
        "how the key is sent: in key_header, or as Authorization: Bearer <key>",
        "header or bearer",
        _choice("header", "bearer"),
    ),
    "allow_model_management": SettingSpec(
        "offer Claude the tools that pull and delete models", "true or false", _boolean
    ),
    "guard": SettingSpec(
        "the tray restores our registration when Claude Code's files lose it", "true or false", _boolean
    ),
    "poll_interval": SettingSpec("seconds between the tray's looks at Ollama", "seconds, at least 1", _seconds(1)),
    "connect_timeout": SettingSpec("seconds to wait for a connection to Ollama", "seconds, more than 0", _seconds(0.1)),
    "idle_timeout": SettingSpec(
        "seconds Ollama may stay silent during a call before it fails", "seconds, more than 0", _seconds(0.1)
    ),
    "max_time": SettingSpec(
        "the most seconds one generation may take in all", "seconds, at least 1; 0 for no cap", _seconds(1, zero=True)
    ),
    "ca_file": SettingSpec(
        "a private CA certificate (PEM) to trust for an https Ollama", "a file path; '' for none", _ca_file
    ),
    "allowed_folders": SettingSpec(
        "folders the material tools may read besides the client's roots",
        "a JSON list or comma-separated paths; '' for none",
        _strings,
    ),
    "material_allow": SettingSpec(
        "gitignore-style patterns the material tools may read although denied or ignored",
        "a JSON list or comma-separated patterns; '' for none",
        _strings,
    ),
    "allow_cloud_models": SettingSpec(
        "the material tools may send files to a cloud model (off this machine)", "true or false", _boolean
    ),
    "material_max_file_bytes": SettingSpec(
        "larger files are skipped by the material tools", "bytes, at least 1", _whole(1)
    ),
    "material_max_total_bytes": SettingSpec("the most bytes one material call reads", "bytes, at least 1", _whole(1)),
    "material_max_ctx": SettingSpec("the largest context a material tool asks for", "tokens, at least 1", _whole(1)),
    "material_parallel": SettingSpec("material parts sent to Ollama at once", "a whole number, at least 1", _whole(1)),
    "resident": SettingSpec(
        "keep one server running for all sessions, so each starts in a blink (false: each session starts its own)",
        "true or false",
        _boolean,
    ),
    "resident_idle_minutes": SettingSpec(
        "minutes the shared server stays running with no session before it exits",
        "minutes, at least 1",
        _whole(1),
    ),
}
assert list(SETTINGS) == [f.name for f in fields(Settings)], "SETTINGS must describe every setting, in order"


def setting_names() -> list[str]:
    """The settings a user can get and set."""
    return list(SETTINGS)


def settings_help() -> str:
    """Every setting with its meaning, what it accepts and its default: the text of `config --help`."""
    defaults = Settings().to_dict()
    lines = ["settings:"]
    for name, spec in SETTINGS.items():
        default = json.dumps(defaults[name]) if not isinstance(defaults[name], str) else repr(defaults[name])
        lines.append(f"  {name}")
        lines.append(f"      {spec.meaning}.")
        lines.append(f"      allowed: {spec.allowed}; default: {default}")
    return "\n".join(lines)


def parse_setting(name: str, raw: str) -> Any:
    """Turn a value typed on the command line into the setting's value.

    Raises:
        InvalidValue: unknown name, or a value the setting does not accept.
    """
    spec = SETTINGS.get(name)
    if spec is None:
        raise InvalidValue(f"There is no setting {name!r}. Settings: {', '.join(setting_names())}.")
    return spec.parse(name, raw)


def save_settings(path: Path, updates: Mapping[str, Any]) -> Settings:
    """Merge `updates` into the settings file and write it atomically (0600, in a 0700 folder).

    Returns:
        The settings as saved.

    Raises:
        ConfigError: the file does not parse, or a value has the wrong type (nothing is written then).
    """
    document = read_settings_document(path)
    document.update(updates)
    settings = settings_from_dict(document, source=str(path))
    make_private_dir(path.parent, narrow=True)
    write_atomic(path, (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8"), 0o600)
    return settings


def clean_key(key: str) -> str:
    """The key as it will be stored.

    Raises:
        InvalidValue: the key is empty or spans lines.
    """
    key = key.strip()
    if not key:
        raise InvalidValue("No key was given (the input was empty or closed).")
    if "\n" in key or "\r" in key:
        raise InvalidValue("The key must be one line.")
    return key


def store_key(path: Path, key: str) -> None:
    """Store the Ollama key for the server to read, readable by the user alone (0600, in a 0700 folder).

    Raises:
        InvalidValue: the key is empty or spans lines.
    """
    key = clean_key(key)
    make_private_dir(path.parent, narrow=True)
    write_atomic(path, (key + "\n").encode("utf-8"), 0o600)


def delete_key(path: Path) -> bool:
    """Remove the stored key; False when there was none."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True
