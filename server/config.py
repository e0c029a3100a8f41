"""The server's configuration, resolved once at start from the environment, the settings file and the key file.

Precedence: environment variables, then the settings file, then defaults. The key comes from `OLLAMA_KEY`
or, failing that, from the app's key file, so no registration ever has to carry it in plain text.

Environment variables:
    OLLAMA_URL             base URL of Ollama (wins over OLLAMA_HOST)
    OLLAMA_HOST            the Ollama CLI's form: host, host:port, scheme://host[:port][/path]
    OLLAMA_KEY             key for a reverse proxy in front of a remote Ollama
    OLLAMA_KEY_HEADER      header that carries the key (default X-Ollama-Key)
    OLLAMA_AUTH_SCHEME     "header" (default) or "bearer" (Authorization: Bearer <key>)
    OLLAMA_DEFAULT_MODEL   model used when a tool call names none
    OLLAMA_MCP_ALLOW_MANAGEMENT  "1" enables the pull and delete tools
    OLLAMA_CONNECT_TIMEOUT, OLLAMA_IDLE_TIMEOUT, OLLAMA_MAX_TIME   seconds (0 for no overall cap)
    OLLAMA_DEFAULT_NUM_PREDICT  most tokens a generation makes when the call sets no num_predict (default
                           8192; -1: none, Ollama's own default, which lets a model that never stops run on)
    OLLAMA_CA_FILE         a private CA certificate (PEM) to trust for an https Ollama
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field

from .errors import ConfigError
from .paths import AppPaths
from .settings import DEFAULT_OLLAMA_URL, Settings, load_settings, read_key_file

DEFAULT_PORT = 11434
# Ollama's own default is -1: no limit. A model caught in a loop (repeating itself, never emitting its end token)
# then generates until the client cancels, holding the GPU all the while. A token ceiling stops it gracefully:
# the answer so far comes back, marked as cut off, on any hardware (a time cap would cut long answers on slow
# machines and lose them). 8192 tokens is about 6,000 words or 30 KB of code, twice the 4096-token context
# Ollama gives a model on machines under 24 GB of VRAM, beyond which a model no longer sees its prompt.
DEFAULT_NUM_PREDICT = 8192
_INT32_MAX = 2**31 - 1
_TRUE = {"1", "true", "yes", "on"}


def parse_host(host: str | None) -> str:
    """Turn any host form the Ollama CLI accepts into a base URL without a trailing slash.

    >>> parse_host(None)
    'http://127.0.0.1:11434'
    >>> parse_host('')
    'http://127.0.0.1:11434'
    >>> parse_host('1.2.3.4')
    'http://1.2.3.4:11434'
    >>> parse_host(':56789')
    'http://127.0.0.1:56789'
    >>> parse_host('0.0.0.0')
    'http://127.0.0.1:11434'
    >>> parse_host('example.com:56789')
    'http://example.com:56789'
    >>> parse_host('https://example.com')
    'https://example.com:443'
    >>> parse_host('http://example.com')
    'http://example.com:80'
    >>> parse_host('https://example.com:56789/path/')
    'https://example.com:56789/path'
    >>> parse_host('[::1]:56789')
    'http://[::1]:56789'
    >>> parse_host('[::]')
    'http://[::1]:11434'
    """
    host = (host or "").strip()
    if not host:
        return DEFAULT_OLLAMA_URL
    scheme, sep, rest = host.partition("://")
    if not sep:
        scheme, rest = "http", host
    scheme = scheme.lower()
    if scheme not in ("http", "https"):
        raise ConfigError(f"Unsupported scheme in Ollama address {host!r}: use http:// or https://.")
    default_port = DEFAULT_PORT if not sep else (443 if scheme == "https" else 80)
    netloc, slash, path = rest.partition("/")
    path = (slash + path).rstrip("/")
    try:
        parsed = urllib.parse.urlsplit(f"//{netloc}")
        hostname = parsed.hostname or ""
        port = parsed.port or default_port
    except ValueError as exc:
        raise ConfigError(f"Cannot read the Ollama address {host!r}: {exc}.") from exc
    # A server binds to 0.0.0.0 / [::]; a client reaches it on loopback.
    if hostname in ("", "0.0.0.0"):
        hostname = "127.0.0.1"
    elif hostname == "::":
        hostname = "::1"
    if ":" in hostname:
        hostname = f"[{hostname}]"
    return f"{scheme}://{hostname}:{port}{path}"


def normalize_url(url: str) -> str:
    """A user-typed OLLAMA_URL: the same forms as OLLAMA_HOST, kept without a trailing slash."""
    return parse_host(url)


@dataclass(frozen=True)
class Timeouts:
    connect: float = 5.0
    idle: float = 120.0
    total: float | None = None  # None: no overall cap


@dataclass(frozen=True)
class ServerConfig:
    """Everything the server needs, resolved. `key` is never logged or shown."""

    base_url: str = DEFAULT_OLLAMA_URL
    key: str | None = field(default=None, repr=False)
    key_header: str = "X-Ollama-Key"
    auth_scheme: str = "header"
    default_model: str | None = None
    allow_model_management: bool = False
    timeouts: Timeouts = Timeouts()
    ca_file: str | None = None
    # num_predict for a generation whose call sets none; None: send none (Ollama's default, no limit)
    default_num_predict: int | None = DEFAULT_NUM_PREDICT

    def auth_headers(self) -> dict[str, str]:
        """The headers that carry the key, if there is one."""
        if not self.key:
            return {}
        if self.auth_scheme == "bearer":
            return {"Authorization": f"Bearer {self.key}"}
        return {self.key_header: self.key}

    @property
    def key_source_hint(self) -> str:
        if self.auth_scheme == "bearer":
            return "Authorization: Bearer"
        return self.key_header


def _float_env(env: Mapping[str, str], name: str, fallback: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return fallback
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number of seconds, not {raw!r}.") from exc
    if value < 0:
        raise ConfigError(f"{name} must not be negative.")
    return value


def _num_predict_env(env: Mapping[str, str]) -> int | None:
    raw = env.get("OLLAMA_DEFAULT_NUM_PREDICT", "").strip()
    if not raw:
        return DEFAULT_NUM_PREDICT
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value == -1:
        return None
    if value == -2 or 0 < value <= _INT32_MAX:
        return value
    raise ConfigError(
        f"OLLAMA_DEFAULT_NUM_PREDICT must be a number of tokens (1 to {_INT32_MAX}), -1 for no limit or -2 to "
        f"fill the context, not {raw!r}. The default is {DEFAULT_NUM_PREDICT}."
    )


def _ca_file(value: str) -> str | None:
    path = value.strip()
    if path and not os.path.isfile(os.path.expanduser(path)):
        raise ConfigError(
            f"Cannot use the CA file {path}: there is no such file. Point ca_file (or OLLAMA_CA_FILE) at the "
            "PEM certificate of your proxy's CA, or clear it with `ollama-mcp-tray config set ca_file ''`."
        )
    return os.path.expanduser(path) if path else None


def resolve_config(
    env: Mapping[str, str] | None = None,
    paths: AppPaths | None = None,
    settings: Settings | None = None,
) -> ServerConfig:
    """Resolve the configuration from the environment, the settings file and the key file.

    Raises:
        ConfigError: a value is malformed; the message names it and how to fix it.
    """
    env = os.environ if env is None else env
    if settings is None:
        paths = paths or AppPaths.default()
        settings = load_settings(paths.settings_file)
    if env.get("OLLAMA_URL", "").strip():
        base_url = normalize_url(env["OLLAMA_URL"])
    elif env.get("OLLAMA_HOST", "").strip():
        base_url = parse_host(env["OLLAMA_HOST"])
    else:
        base_url = normalize_url(settings.ollama_url)
    key = env.get("OLLAMA_KEY", "").strip() or None
    if key is None and paths is not None:
        key = read_key_file(paths.key_file)
    scheme = (env.get("OLLAMA_AUTH_SCHEME") or settings.auth_scheme).strip().lower()
    if scheme not in ("header", "bearer"):
        raise ConfigError('OLLAMA_AUTH_SCHEME must be "header" or "bearer".')
    allow = env.get("OLLAMA_MCP_ALLOW_MANAGEMENT")
    max_time = _float_env(env, "OLLAMA_MAX_TIME", settings.max_time)
    return ServerConfig(
        base_url=base_url,
        key=key,
        key_header=(env.get("OLLAMA_KEY_HEADER") or settings.key_header).strip() or "X-Ollama-Key",
        auth_scheme=scheme,
        default_model=(env.get("OLLAMA_DEFAULT_MODEL") or settings.default_model).strip() or None,
        allow_model_management=(allow.strip().lower() in _TRUE)
        if allow is not None
        else settings.allow_model_management,
        ca_file=_ca_file(env.get("OLLAMA_CA_FILE") or settings.ca_file),
        default_num_predict=_num_predict_env(env),
        timeouts=Timeouts(
            connect=_float_env(env, "OLLAMA_CONNECT_TIMEOUT", settings.connect_timeout) or 5.0,
            idle=_float_env(env, "OLLAMA_IDLE_TIMEOUT", settings.idle_timeout) or 120.0,
            total=max_time or None,
        ),
    )
