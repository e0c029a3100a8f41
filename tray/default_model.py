"""The default model that enabling leaves behind: chosen as `setup` does, saved, and found cheaply when Ollama is down.

Enabling is meant to be quick (bench/bench_registration.py holds a CLI enable to 0.6x of `claude mcp add-json`),
and the Ollama client's HTTP stack costs about 0.2 s to import. So this module imports it only when something
listens at Ollama's address: a refused connection to a plain-http address says "down" without it.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ollama_mcp_tray.server.config import ServerConfig
from ollama_mcp_tray.server.errors import ConfigError

if TYPE_CHECKING:
    from ollama_mcp_tray.server.ollama_client import ModelInfo, OllamaSnapshot

    from .app_context import AppContext

REFUSED_PROBE_S = 0.5
"""How long the cheap probe waits for a connection; only a refusal counts as "down", a slow answer does not."""


def choose_default_model(models: Sequence[ModelInfo], loaded: Sequence[str] = ()) -> str | None:
    """The best installed model for generation: a coder model first, then one in memory, then the largest.
    Embedding-only models are skipped."""
    usable = [m for m in models if not m.embedding_only and "embed" not in m.name.lower()]
    if not usable:
        return None
    return max(usable, key=lambda m: ("code" in m.name.lower(), m.name in loaded, m.size)).name


def refused(config: ServerConfig) -> bool:
    """Whether nothing listens at a plain-http Ollama address (the connection is refused at once).

    Only plain http is tried: an https address may be reached through HTTPS_PROXY, which a direct connection
    would not tell about, so it always gets the real probe.
    """
    parts = urlsplit(config.base_url)
    if parts.scheme != "http" or not parts.hostname:
        return False
    try:
        with socket.create_connection((parts.hostname, parts.port or 80), timeout=REFUSED_PROBE_S):
            return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False  # a timeout or a name that does not resolve: let the real probe say what it is


def fill_default_model(ctx: AppContext, snap: OllamaSnapshot | None = None) -> str | None:
    """When no default model is set and Ollama has a usable one, choose it as `setup` does and save it.

    Enabling without a default leaves Claude's first call failing with "No model given"; this is what the
    tray's one click and the CLI's `enable` run first. Returns the model chosen now, or None when one was
    already set, Ollama does not answer, or no installed model can generate. Never raises for Ollama.

    Raises:
        ConfigError: the settings file does not parse (nothing is written then).
    """
    from .app_settings import save_settings

    if ctx.settings.default_model:
        return None
    if snap is None:
        try:
            config = ctx.server_config()
        except ConfigError:
            return None
        if refused(config):
            return None
        from .doctor import probe

        snap = probe(config)
    from .doctor import OllamaState, ollama_state

    if ollama_state(snap) is not OllamaState.UP:
        return None
    model = choose_default_model(snap.models, [m.name for m in snap.loaded])
    if model is not None:
        ctx.use_settings(save_settings(ctx.paths.settings_file, {"default_model": model}))
    return model
