"""The one error tree of the app. Every message says what happened and what to do next.

    OllamaMcpError
    ├── ConfigError              settings, key file or environment are wrong
    ├── MaterialError            a material tool cannot read or send what it was given (outside the roots,
    │                            nothing readable, a cloud model not allowed, an answer that fails its checks)
    └── OllamaError              talking to Ollama failed
        ├── OllamaUnreachable    nothing answers at the URL (connect refused, DNS, TLS)
        ├── OllamaAuthError      a proxy in front of Ollama said 401/403: the key is missing or wrong
        ├── ModelNotFound        Ollama does not have the model; lists what it has
        ├── OllamaTimeout        connect, idle (no bytes for N s) or overall cap fired; names which
        ├── OllamaResponseError  Ollama answered with its own 4xx/5xx message
        └── OllamaProtocolError  the reply was not what Ollama sends (garbage, a stream cut off)

Foreign exceptions (httpx2, json, OSError) are mapped at the boundary and chained with `raise ... from`.
"""

from __future__ import annotations


class OllamaMcpError(Exception):
    """Base of every error the app raises on purpose."""


class ConfigError(OllamaMcpError):
    """The app's configuration (settings file, key file, environment) is wrong."""


class MaterialError(OllamaMcpError):
    """A material tool refuses or fails; the message says why and tells Claude what to do instead."""


class OllamaError(OllamaMcpError):
    """Talking to Ollama failed."""


class OllamaUnreachable(OllamaError):
    """Nothing answered at the configured URL."""


class OllamaAuthError(OllamaError):
    """A reverse proxy rejected the request (401/403)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class ModelNotFound(OllamaError):
    """Ollama does not have the requested model."""

    def __init__(self, message: str, model: str, installed: list[str] | None = None) -> None:
        super().__init__(message)
        self.model = model
        self.installed = installed or []


class OllamaTimeout(OllamaError):
    """A configured timeout fired; `kind` is "connect", "idle" or "total"."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


class OllamaResponseError(OllamaError):
    """Ollama answered with an error of its own (its message is kept as-is)."""

    def __init__(self, message: str, status: int, ollama_message: str) -> None:
        super().__init__(message)
        self.status = status
        self.ollama_message = ollama_message


class OllamaProtocolError(OllamaError):
    """The reply was malformed or the stream broke off."""
