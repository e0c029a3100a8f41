"""Writing the app's settings file and key file (the server's `settings.py` reads them).

Both are written whole and atomically, readable by the user alone (0600). Keys of the settings file this
version does not know are kept, so an older tray never erases what a newer one saved.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

from ollama_mcp_tray.server.config import normalize_url
from ollama_mcp_tray.server.errors import ConfigError
from ollama_mcp_tray.server.settings import Settings, read_settings_document, settings_from_dict

from .safe_edit import write_atomic

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def setting_names() -> list[str]:
    """The settings a user can get and set."""
    return [f.name for f in fields(Settings)]


def parse_setting(name: str, raw: str) -> Any:
    """Turn a value typed on the command line into the setting's type.

    Raises:
        ConfigError: unknown name, or a value of the wrong kind.
    """
    kinds = {f.name: type(getattr(Settings(), f.name)) for f in fields(Settings)}
    if name not in kinds:
        raise ConfigError(f"There is no setting {name!r}. Settings: {', '.join(setting_names())}.")
    kind = kinds[name]
    if kind is bool:
        lowered = raw.strip().lower()
        if lowered not in _TRUE | _FALSE:
            raise ConfigError(f"{name} takes true or false, not {raw!r}.")
        return lowered in _TRUE
    if kind is float:
        try:
            return float(raw)
        except ValueError as exc:
            raise ConfigError(f"{name} takes a number, not {raw!r}.") from exc
    if kind is int:
        try:
            return int(raw)
        except ValueError as exc:
            raise ConfigError(f"{name} takes a whole number, not {raw!r}.") from exc
    if kind is tuple:
        # A JSON list, or comma-separated values ('' clears the list).
        if raw.strip().startswith("["):
            try:
                return json.loads(raw)
            except ValueError as exc:
                raise ConfigError(f"{name} takes a JSON list of strings or comma-separated values.") from exc
        return [part.strip() for part in raw.split(",") if part.strip()]
    if name == "ollama_url":
        return normalize_url(raw)
    return raw


def save_settings(path: Path, updates: Mapping[str, Any]) -> Settings:
    """Merge `updates` into the settings file and write it atomically (0600).

    Returns:
        The settings as saved.

    Raises:
        ConfigError: the file does not parse, or a value has the wrong type (nothing is written then).
    """
    document = read_settings_document(path)
    document.update(updates)
    settings = settings_from_dict(document, source=str(path))
    write_atomic(path, (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8"), 0o600)
    return settings


def store_key(path: Path, key: str) -> None:
    """Store the Ollama key for the server to read, readable by the user alone.

    Raises:
        ConfigError: the key is empty or spans lines.
    """
    key = key.strip()
    if not key or "\n" in key or "\r" in key:
        raise ConfigError("The key must be one non-empty line.")
    write_atomic(path, (key + "\n").encode("utf-8"), 0o600)


def delete_key(path: Path) -> bool:
    """Remove the stored key; False when there was none."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True
