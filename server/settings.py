"""The app's settings file: one JSON object that the tray and the CLI write and the server reads.

The server only reads it (the tray owns writing, with its atomic file writer). Unknown keys are kept by
the writer and ignored here, so an older server reads a newer file. A file that does not parse is an
error the user can act on, never a silent reset to defaults.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from .errors import ConfigError

DEFAULT_OLLAMA_URL = "http://127.0.0.1:11434"
DEFAULT_SERVER_NAME = "ollama"
DEFAULT_KEY_HEADER = "X-Ollama-Key"


@dataclass(frozen=True)
class Settings:
    """What the user chose. Environment variables override these in the server (see config.py)."""

    ollama_url: str = DEFAULT_OLLAMA_URL
    default_model: str = ""
    server_name: str = DEFAULT_SERVER_NAME
    key_header: str = DEFAULT_KEY_HEADER
    # "header": the key goes in `key_header`; "bearer": `Authorization: Bearer <key>`.
    auth_scheme: str = "header"
    allow_model_management: bool = False
    guard: bool = True
    poll_interval: float = 5.0
    connect_timeout: float = 5.0
    idle_timeout: float = 120.0
    max_time: float = 0.0  # 0: no overall cap on one generation
    ca_file: str = ""  # a private CA (PEM) to trust for an https Ollama, besides the system's
    # Material tools (files read inside the server): see server/confine.py and server/fitting.py.
    allowed_folders: tuple[str, ...] = ()  # readable besides the client's roots
    material_allow: tuple[str, ...] = ()  # gitignore-style patterns that lift the deny list and .gitignore
    allow_cloud_models: bool = False  # material may go to a cloud model (off the machine)
    material_max_file_bytes: int = 2_000_000  # larger files are skipped, with the reason
    material_max_total_bytes: int = 16_000_000  # one call reads at most this much
    material_max_ctx: int = 16_384  # the largest num_ctx a material tool asks for (memory and prompt time grow with it)
    material_parallel: int = 4  # parts sent to Ollama at once
    # The resident server (server/resident/): one warm server per user that each session's relay connects to.
    # The relay reads these two with `json` alone (it imports no more than the standard library).
    resident: bool = True
    resident_idle_minutes: int = 15  # the resident exits after this long with no session

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_FIELD_TYPES: dict[str, type] = {
    "ollama_url": str,
    "default_model": str,
    "server_name": str,
    "key_header": str,
    "auth_scheme": str,
    "allow_model_management": bool,
    "guard": bool,
    "poll_interval": float,
    "connect_timeout": float,
    "idle_timeout": float,
    "max_time": float,
    "ca_file": str,
    "allowed_folders": tuple,
    "material_allow": tuple,
    "allow_cloud_models": bool,
    "material_max_file_bytes": int,
    "material_max_total_bytes": int,
    "material_max_ctx": int,
    "material_parallel": int,
    "resident": bool,
    "resident_idle_minutes": int,
}
assert set(_FIELD_TYPES) == {f.name for f in fields(Settings)}


def settings_from_dict(data: dict[str, Any], *, source: str = "settings") -> Settings:
    """Build Settings from a parsed JSON object, checking each known field's type.

    Raises:
        ConfigError: a known field has a value of the wrong type.
    """
    values: dict[str, Any] = {}
    for name, kind in _FIELD_TYPES.items():
        if name not in data or data[name] is None:
            continue
        value = data[name]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if kind is tuple:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{source}: '{name}' should be a list of strings, not {value!r}.")
            value = tuple(value)
        elif kind is int and isinstance(value, int) and not isinstance(value, bool) and value <= 0:
            raise ConfigError(f"{source}: '{name}' should be a positive whole number, not {value!r}.")
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise ConfigError(
                f"{source}: '{name}' should be {kind.__name__}, not {value!r}. "
                f"Fix or remove that line (the default is {getattr(Settings(), name)!r})."
            )
        values[name] = value
    if values.get("auth_scheme", "header") not in ("header", "bearer"):
        raise ConfigError(f'{source}: \'auth_scheme\' must be "header" or "bearer".')
    return Settings(**values)


def read_settings_document(path: Path) -> dict[str, Any]:
    """The settings file as a JSON object; {} when it does not exist.

    Raises:
        ConfigError: the file cannot be read or is not a JSON object.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"Cannot read the settings file {path}: {exc.strerror}.") from exc
    try:
        data = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"The settings file {path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}). "
            "Fix it, or delete it to go back to the defaults."
        ) from exc
    if not isinstance(data, dict):
        raise ConfigError(f"The settings file {path} must hold a JSON object.")
    return data


def load_settings(path: Path) -> Settings:
    """Read the settings file; defaults when it does not exist."""
    return settings_from_dict(read_settings_document(path), source=str(path))


def read_key_file(path: Path) -> str | None:
    """The stored Ollama key, or None when there is no key file.

    Raises:
        ConfigError: the file exists but others can read it (POSIX), or cannot be read.
    """
    try:
        if os.name == "posix":
            mode = path.stat().st_mode
            if mode & 0o077:
                raise ConfigError(
                    f"The key file {path} is readable by other users; run `chmod 600 {path}` "
                    "(or store the key again from the tray or `ollama-mcp-tray set-key`)."
                )
        key = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"Cannot read the key file {path}: {exc.strerror}.") from exc
    return key or None
