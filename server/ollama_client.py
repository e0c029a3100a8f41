"""The one async client for Ollama's HTTP API (httpx2), shared by the server's tools and the tray.

One `OllamaClient` holds one connection pool for the whole process. This module is the only seam where
the network is touched; every foreign exception is mapped here into the tree of `errors.py`.

Timeouts, each named in its error when it fires:
    connect  no TCP/TLS connection within N s
    idle     Ollama sent no bytes for N s (a read timeout; a long generation that keeps streaming is fine)
    total    optional cap on one whole request (0/None: none)
"""

from __future__ import annotations

import json
import logging
import ssl
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import anyio
import httpx2

from ._version import __version__
from .config import ServerConfig
from .errors import (
    ModelNotFound,
    OllamaAuthError,
    OllamaError,
    OllamaProtocolError,
    OllamaResponseError,
    OllamaTimeout,
    OllamaUnreachable,
)
from .http_transport import LeanTransport, NotHttp

log = logging.getLogger(__name__)

Json = dict[str, Any]


@dataclass(frozen=True)
class ModelInfo:
    """One installed model, from /api/tags."""

    name: str
    size: int
    digest: str
    modified_at: str | None
    family: str | None
    parameter_size: str | None
    quantization: str | None
    capabilities: tuple[str, ...]
    context_length: int | None

    @property
    def embedding_only(self) -> bool:
        return "embedding" in self.capabilities and "completion" not in self.capabilities


@dataclass(frozen=True)
class LoadedModel:
    """One model in memory, from /api/ps."""

    name: str
    size: int
    size_vram: int
    expires_at: str | None
    context_length: int | None


@dataclass(frozen=True)
class OllamaSnapshot:
    """What the tray and `status` show: everything Ollama said in one poll, or why it said nothing."""

    base_url: str
    version: str | None
    models: tuple[ModelInfo, ...] = ()
    loaded: tuple[LoadedModel, ...] = ()
    error: OllamaError | None = None

    @property
    def up(self) -> bool:
        return self.version is not None


def _opt_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def parse_model_info(entry: Mapping[str, Any]) -> ModelInfo:
    """Read one /api/tags entry, tolerating missing fields (Ollama adds and drops fields between versions)."""
    details = entry.get("details") or {}
    if not isinstance(details, Mapping):
        details = {}
    caps = entry.get("capabilities") or ()
    return ModelInfo(
        name=str(entry.get("name") or entry.get("model") or ""),
        size=_opt_int(entry.get("size")) or 0,
        digest=str(entry.get("digest") or ""),
        modified_at=_opt_str(entry.get("modified_at")),
        family=_opt_str(details.get("family")),
        parameter_size=_opt_str(details.get("parameter_size")),
        quantization=_opt_str(details.get("quantization_level")),
        capabilities=tuple(str(c) for c in caps) if isinstance(caps, list) else (),
        context_length=_opt_int(details.get("context_length")),
    )


def parse_loaded_model(entry: Mapping[str, Any]) -> LoadedModel:
    """Read one /api/ps entry."""
    return LoadedModel(
        name=str(entry.get("name") or entry.get("model") or ""),
        size=_opt_int(entry.get("size")) or 0,
        size_vram=_opt_int(entry.get("size_vram")) or 0,
        expires_at=_opt_str(entry.get("expires_at")),
        context_length=_opt_int(entry.get("context_length")),
    )


def same_model(a: str, b: str) -> bool:
    """Ollama's name rules: case-insensitive, and a missing tag means `latest`."""

    def norm(name: str) -> str:
        name = name.strip().lower()
        last = name.rsplit("/", 1)[-1]
        return name if ":" in last else f"{name}:latest"

    return norm(a) == norm(b)


def _tls_context(ca_file: str) -> ssl.SSLContext:
    """The system's trusted CAs plus the user's own (a reverse proxy with a private CA)."""
    context = ssl.create_default_context()
    try:
        context.load_verify_locations(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        # resolve_config checked that the file exists; one that holds no certificate leaves the system's CAs,
        # and the "does not trust" error then names the fix.
        log.error("The CA file %s holds no usable certificate: %s", ca_file, exc)
    return context


def _tls_untrusted(exc: BaseException) -> bool:
    """Whether a connect failure was a certificate the client refused (anywhere in the cause chain)."""
    seen: BaseException | None = exc
    while seen is not None:
        if type(seen).__name__ == "SSLCertVerificationError" or "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _error_text(body: bytes) -> str:
    """Ollama's `{"error": "..."}` message, or the body itself (a proxy's HTML page, a plain-text 404)."""
    text = body.decode("utf-8", errors="replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return text[:300]
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        return str(data["error"])
    return text[:300]


class OllamaClient:
    """Async client for one Ollama instance. Use as an async context manager, or call `aclose()`."""

    def __init__(self, config: ServerConfig, *, transport: httpx2.AsyncBaseTransport | None = None) -> None:
        self.config = config
        self.base_url = config.base_url
        self._urls: dict[str, httpx2.URL] = {}
        t = config.timeouts
        secure = config.base_url.startswith("https://")
        self._http = httpx2.AsyncClient(
            base_url=config.base_url,
            headers={"User-Agent": f"ollama-mcp-tray/{__version__}", **config.auth_headers()},
            timeout=httpx2.Timeout(connect=t.connect, read=t.idle, write=t.idle, pool=t.idle),
            # Parallel tool calls each hold a connection for a whole generation.
            limits=httpx2.Limits(max_connections=64, max_keepalive_connections=16),
            transport=transport or (None if secure else LeanTransport()),
            # A remote https Ollama may sit behind a corporate proxy or a private CA: honour HTTPS_PROXY,
            # NO_PROXY and SSL_CERT_FILE there. A plain-http one (normally local) must not be sent through a
            # proxy meant for the internet.
            trust_env=secure,
            # Loading the CA bundle costs ~150 ms of start-up; a plain-http Ollama never needs it.
            verify=_tls_context(config.ca_file) if secure and config.ca_file else secure,
        )

    def _url(self, path: str) -> httpx2.URL:
        # Merging a relative path into base_url costs ~0.1 ms per request in httpx2; parse each path once.
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = httpx2.URL(self.base_url + path)
        return url

    async def __aenter__(self) -> OllamaClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # ---- error mapping -------------------------------------------------------------------------------

    def _unreachable(self, exc: Exception) -> OllamaUnreachable:
        local = any(h in self.base_url for h in ("127.0.0.1", "localhost", "[::1]"))
        hint = (
            "Start Ollama (run `ollama serve`, or open the Ollama app), or set OLLAMA_URL if it runs elsewhere."
            if local
            else "Check that the remote Ollama (or the proxy in front of it) is up and that OLLAMA_URL is right."
        )
        return OllamaUnreachable(f"Cannot reach Ollama at {self.base_url} ({type(exc).__name__}). {hint}")

    def _map_transport_error(self, exc: httpx2.HTTPError, path: str) -> OllamaError:
        t = self.config.timeouts
        if isinstance(exc, httpx2.ConnectTimeout):
            return OllamaTimeout(
                f"Connecting to Ollama at {self.base_url} timed out after {t.connect:g} s (connect timeout, "
                "OLLAMA_CONNECT_TIMEOUT). Check the address and your network.",
                "connect",
            )
        if isinstance(exc, (httpx2.ReadTimeout, httpx2.WriteTimeout, httpx2.PoolTimeout)):
            return OllamaTimeout(
                f"Ollama at {self.base_url} sent nothing for {t.idle:g} s (idle timeout, OLLAMA_IDLE_TIMEOUT). "
                "A large model may still be loading: try again, or raise OLLAMA_IDLE_TIMEOUT.",
                "idle",
            )
        if isinstance(exc, httpx2.ConnectError):
            if _tls_untrusted(exc):
                return OllamaUnreachable(
                    f"Ollama at {self.base_url} presented a TLS certificate this machine does not trust. If the "
                    "proxy uses a private CA, run `ollama-mcp-tray config set ca_file /path/to/ca.pem` (or set "
                    "OLLAMA_CA_FILE or SSL_CERT_FILE for the server), or add the CA to the system's trust store."
                )
            return self._unreachable(exc)
        if isinstance(exc, NotHttp):
            return OllamaProtocolError(
                f"The server at {self.base_url} does not speak HTTP like Ollama (its reply to {path} was not valid "
                "HTTP/1.1). Is OLLAMA_URL pointing at Ollama: http:// or https://, and the right port (11434)?"
            )
        if isinstance(exc, (httpx2.RemoteProtocolError, httpx2.ReadError, httpx2.WriteError)):
            # The HTTP library's own words (h11 states, byte counts) mean nothing to the user: the log keeps them.
            log.info("The reply to %s broke off: %s: %s", path, type(exc).__name__, exc)
            return OllamaProtocolError(
                f"The connection to Ollama at {self.base_url} broke off before the reply to {path} was complete. "
                "Ollama may have crashed, been restarted or run out of memory: check its log and retry."
            )
        log.info("Talking to Ollama about %s failed: %s: %s", path, type(exc).__name__, exc)
        return OllamaProtocolError(
            f"Talking to Ollama at {self.base_url} failed ({type(exc).__name__}) on {path}. Check that OLLAMA_URL "
            "points at Ollama and that it is up, then retry."
        )

    async def _status_error(self, response: httpx2.Response, body: bytes, model: str | None) -> OllamaError:
        status = response.status_code
        message = _error_text(body)
        if status in (401, 403) and not message.startswith("model"):
            if self.config.key:
                hint = f"The key sent as {self.config.key_source_hint} was refused: check OLLAMA_KEY or the stored key."
            else:
                hint = (
                    "No key is configured: set OLLAMA_KEY (or store one with `ollama-mcp-tray set-key`). "
                    "A local Ollama answers 403 when the request's Origin/Host is not allowed (OLLAMA_ORIGINS)."
                )
            return OllamaAuthError(f"Ollama at {self.base_url} refused the request (HTTP {status}). {hint}", status)
        if status == 404 and model is not None and "not found" in message:
            installed = await self._installed_names()
            return model_not_found(model, installed)
        return OllamaResponseError(
            f"Ollama answered HTTP {status}: {message or response.reason_phrase}", status, message
        )

    async def _installed_names(self) -> list[str]:
        try:
            return [m.name for m in await self.list_models()]
        except OllamaError:
            return []

    # ---- plain requests ------------------------------------------------------------------------------

    async def request_json(self, method: str, path: str, body: Json | None = None, *, model: str | None = None) -> Json:
        """Send one request and return its JSON object (an empty body counts as `{}`).

        Raises:
            OllamaError: any failure, mapped to the error tree.
        """
        try:
            with self.capped():
                response = await self._http.request(method, self._url(path), json=body)
        except httpx2.HTTPError as exc:
            raise self._map_transport_error(exc, path) from exc
        content = response.content
        if response.status_code >= 400:
            raise await self._status_error(response, content, model)
        if not content.strip():
            return {}
        try:
            data = json.loads(content)
        except ValueError as exc:
            raise OllamaProtocolError(
                f"Ollama at {self.base_url} answered {path} with something that is not JSON "
                f"({content[:80]!r}). Is OLLAMA_URL pointing at Ollama?"
            ) from exc
        if not isinstance(data, dict):
            raise OllamaProtocolError(f"Ollama at {self.base_url} answered {path} with JSON that is not an object.")
        return data

    @contextmanager
    def capped(self) -> Iterator[None]:
        """Apply the optional overall cap (OLLAMA_MAX_TIME) to everything inside, as an `OllamaTimeout`."""
        total = self.config.timeouts.total
        if not total:
            yield
            return
        try:
            with anyio.fail_after(total):
                yield
        except TimeoutError as exc:
            raise OllamaTimeout(
                f"The request to Ollama took longer than {total:g} s (overall cap, OLLAMA_MAX_TIME). "
                "Ask for a shorter answer (num_predict) or raise OLLAMA_MAX_TIME.",
                "total",
            ) from exc

    async def version(self) -> str:
        data = await self.request_json("GET", "/api/version")
        version = data.get("version")
        if not isinstance(version, str):
            raise OllamaProtocolError(f"{self.base_url}/api/version did not name a version. Is this Ollama?")
        return version

    async def list_models(self) -> list[ModelInfo]:
        data = await self.request_json("GET", "/api/tags")
        models = data.get("models")
        if not isinstance(models, list):
            raise OllamaProtocolError(f"{self.base_url}/api/tags did not list models. Is this Ollama?")
        return [parse_model_info(m) for m in models if isinstance(m, Mapping)]

    async def running(self) -> list[LoadedModel]:
        data = await self.request_json("GET", "/api/ps")
        models = data.get("models")
        if not isinstance(models, list):
            raise OllamaProtocolError(f"{self.base_url}/api/ps did not list models. Is this Ollama?")
        return [parse_loaded_model(m) for m in models if isinstance(m, Mapping)]

    async def show(self, model: str) -> Json:
        return await self.request_json("POST", "/api/show", {"model": model}, model=model)

    async def embed(self, body: Json) -> Json:
        return await self.request_json("POST", "/api/embed", body, model=str(body.get("model", "")))

    async def delete(self, model: str) -> None:
        await self.request_json("DELETE", "/api/delete", {"model": model}, model=model)

    async def unload(self, model: str) -> None:
        """Ask Ollama to drop a model from memory now."""
        await self.request_json("POST", "/api/generate", {"model": model, "keep_alive": 0}, model=model)

    async def snapshot(self) -> OllamaSnapshot:
        """Version, installed and loaded models in one go; never raises for Ollama's failures."""
        try:
            version = await self.version()
        except OllamaError as exc:
            return OllamaSnapshot(self.base_url, None, error=exc)
        try:
            models = await self.list_models()
            loaded = await self.running()
        except OllamaError as exc:
            return OllamaSnapshot(self.base_url, version, error=exc)
        return OllamaSnapshot(self.base_url, version, tuple(models), tuple(loaded))

    # ---- streams -------------------------------------------------------------------------------------

    @asynccontextmanager
    async def _open_stream(self, path: str, body: Json, model: str | None) -> AsyncIterator[httpx2.Response]:
        try:
            async with self._http.stream("POST", self._url(path), json=body) as response:
                if response.status_code >= 400:
                    content = await response.aread()
                    raise await self._status_error(response, content, model)
                yield response
        except httpx2.HTTPError as exc:
            raise self._map_transport_error(exc, path) from exc

    async def stream(self, path: str, body: Json, *, model: str | None = None) -> AsyncIterator[Json]:
        """POST with `stream: true` and yield each NDJSON object until the last one.

        A non-streamed single object (Ollama's reply to a load request) is yielded as one chunk. Leaving the
        iteration early (cancellation) closes the connection, which makes Ollama stop generating. The overall
        cap is the caller's: wrap the whole consumption in `capped()`.

        Raises:
            OllamaError: including an `{"error": ...}` line inside the stream and a stream that ends early.
        """
        body = {**body, "stream": True}
        async with self._open_stream(path, body, model) as response:
            finished = False
            pending = b""
            try:
                # Raw bytes split on newlines: httpx2's text-decoding line iterator costs more than the parse.
                async for data in response.aiter_raw():
                    pending += data
                    *lines, pending = pending.split(b"\n")
                    for line in lines:
                        if not line.strip():
                            continue
                        chunk = self._parse_line(line)
                        finished = bool(chunk.get("done")) or chunk.get("status") == "success"
                        yield chunk
                # No early return after the last chunk: reading on to the end of the body lets the connection
                # go back to the pool instead of being closed half-read.
                if pending.strip():
                    chunk = self._parse_line(pending)
                    finished = bool(chunk.get("done")) or chunk.get("status") == "success"
                    yield chunk
            except httpx2.HTTPError as exc:
                raise self._map_transport_error(exc, path) from exc
            if not finished:
                raise OllamaProtocolError(
                    f"Ollama's reply stream from {self.base_url} ended before it was complete (no final "
                    "chunk). Ollama may have crashed or been restarted: check its log and retry."
                )

    def _parse_line(self, line: bytes) -> Json:
        try:
            chunk = json.loads(line)
        except ValueError as exc:
            raise OllamaProtocolError(
                f"Ollama at {self.base_url} sent a malformed stream line ({line[:80]!r}). "
                "Is OLLAMA_URL pointing at Ollama (and not at a proxy error page)?"
            ) from exc
        if not isinstance(chunk, dict):
            raise OllamaProtocolError(f"Ollama at {self.base_url} sent a stream line that is not a JSON object.")
        if isinstance(chunk.get("error"), str):
            raise OllamaResponseError(f"Ollama reported an error mid-stream: {chunk['error']}", 200, chunk["error"])
        return chunk


def model_not_found(model: str, installed: list[str]) -> ModelNotFound:
    """The error for a model Ollama does not have, with what it does have and how to get the one asked for."""
    if installed:
        shown = ", ".join(installed[:15]) + (f" (+{len(installed) - 15} more)" if len(installed) > 15 else "")
        have = f"Installed models: {shown}."
    else:
        have = "No models are installed yet."
    return ModelNotFound(
        f"Ollama has no model named '{model}'. {have} Use one of those, or run `ollama pull {model}` to get it.",
        model,
        installed,
    )
