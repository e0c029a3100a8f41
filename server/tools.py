"""The MCP tools: thin functions that turn a tool call into Ollama requests and a typed result.

Every Ollama failure becomes a `ToolError` the model can read and act on; the process never dies of one.
Each call appends a usage record (no prompt or answer text).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any, Literal

import anyio
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, TextContent
from pydantic import BaseModel, Field

from .arguments import STRICT, KeepAlive, NumCtx, NumPredict, OllamaOptions, Seed, Temperature, Think
from .config import ServerConfig
from .descriptions import write_model_cache
from .errors import ConfigError, MaterialError, OllamaError
from .ollama_client import OllamaClient, same_model
from .results import (
    DeleteResult,
    EmbeddingResult,
    GenerationResult,
    LoadedEntry,
    LoadedList,
    ModelDetails,
    ModelEntry,
    ModelList,
    PullResult,
)
from .settings import load_settings
from .units import human_size
from .usage import UsageLog, UsageRecord

log = logging.getLogger(__name__)

HEARTBEAT_S = 0.5  # progress while the model loads: well inside the "at least once a second" promise
TOKEN_REPORT_S = 0.2  # at most this often while tokens stream

Format = Literal["json"] | dict[str, Any]
FileStamp = tuple[int, int, int]  # inode, mtime_ns, size


class ChatMessage(BaseModel):
    model_config = STRICT

    role: Literal["system", "user", "assistant", "tool"]
    content: str
    images: list[str] | None = Field(None, description="Base64-encoded images, for vision models.")
    tool_name: str | None = Field(None, description="For role 'tool': the tool whose result this is.")


# Argument types: strict and bounded (arguments.py); the SDK reads the descriptions into the inputSchema.
ModelArg = Annotated[str | None, Field(description="Ollama model, e.g. 'qwen2.5-coder:3b'. Omit for the default.")]
SystemArg = Annotated[str | None, Field(description="System prompt.")]
TemperatureArg = Annotated[Temperature | None, Field(description="Sampling temperature, 0 to 2; 0 for deterministic.")]
NumCtxArg = Annotated[NumCtx | None, Field(description="Context window in tokens.")]
NumPredictArg = Annotated[
    NumPredict | None,
    Field(description="Most tokens to generate (default 8192 unless the server sets another; -1: no limit)."),
]
SeedArg = Annotated[Seed | None, Field(description="Random seed, for repeatable answers.")]
StopArg = Annotated[list[str] | None, Field(description="Stop sequences.")]
FormatArg = Annotated[Format | None, Field(description="'json', or a JSON schema the answer must follow.")]
ThinkArg = Annotated[Think | None, Field(description="Ask a thinking model to reason first (true/false/level).")]
KeepAliveArg = Annotated[
    KeepAlive | None,
    Field(description="How long the model stays loaded after: '5m', '1h', seconds; 0 unloads, negative: forever."),
]
OptionsArg = Annotated[OllamaOptions | None, Field(description="Other Ollama options (top_k, top_p, ...).")]


@dataclass
class ToolContext:
    """What every tool needs: the shared client, the configuration and where to record usage."""

    config: ServerConfig
    client: OllamaClient | None
    usage: UsageLog | None
    model_cache: Path | None = None
    config_error: ConfigError | None = None
    clock: Callable[[], float] = time.time
    # The tray may change the default model (and the management switch) while Claude Code keeps this server
    # running: when they come from the settings file (not the environment), a changed file is re-read.
    settings_file: Path | None = None
    follow_management: bool = False  # the management switch follows the settings file too
    # With `resolve`, the connection (address, key, how the key is sent, timeouts) follows the settings file and
    # the key file too: the tray's Server menu switches Ollama under a Claude Code session that keeps running.
    # `resolve` is the server's own resolution (the environment still wins over the files).
    key_file: Path | None = None
    resolve: Callable[[], ServerConfig] | None = None
    retired: list[OllamaClient] = field(default_factory=list)  # replaced clients, closed at shutdown
    _settings_stamp: tuple[FileStamp | None, FileStamp | None] | None = None
    _default: str | None = None
    _management: bool = False

    def __post_init__(self) -> None:
        self._default = self.config.default_model
        self._management = self.config.allow_model_management
        self._settings_stamp = self._stamp()

    def _stamp(self) -> tuple[FileStamp | None, FileStamp | None] | None:
        if self.settings_file is None:
            return None
        return _file_stamp(self.settings_file), _file_stamp(self.key_file) if self.key_file is not None else None

    def _follow(self) -> None:
        stamp = self._stamp()
        if self.settings_file is None or stamp == self._settings_stamp:
            return
        self._settings_stamp = stamp
        try:
            settings = load_settings(self.settings_file)
        except ConfigError as exc:
            log.warning("Keeping the default model %s and the management switch: %s", self._default, exc)
            return
        self._default = settings.default_model.strip() or None
        if self.follow_management:
            self._management = settings.allow_model_management
        if self.resolve is not None:
            self._follow_connection(self.resolve)

    def _follow_connection(self, resolve: Callable[[], ServerConfig]) -> None:
        """Talk to the Ollama the files name now, if that changed; calls in flight finish on the old client."""
        try:
            fresh = resolve()
        except ConfigError as exc:
            log.warning("Keeping the connection to %s: %s", self.config.base_url, exc)
            return
        if _connection(fresh) == _connection(self.config) or self.client is None:
            return
        self.config = replace(
            self.config,
            base_url=fresh.base_url,
            key=fresh.key,
            key_header=fresh.key_header,
            auth_scheme=fresh.auth_scheme,
            ca_file=fresh.ca_file,
            timeouts=fresh.timeouts,
        )
        self.retired.append(self.client)
        self.client = OllamaClient(self.config)
        log.info("The settings changed: Ollama at %s from now on.", self.config.base_url)

    def default_model(self) -> str | None:
        """The default model, following changes to the settings file."""
        self._follow()
        return self._default

    def management_allowed(self) -> bool:
        """The management switch (pull/delete offered), following the settings file when it decides."""
        self._follow()
        return self._management

    _records: list[UsageRecord] = field(default_factory=list)

    def require_client(self) -> OllamaClient:
        if self.resolve is not None:
            self._follow()
        if self.config_error is not None or self.client is None:
            raise ToolError(str(self.config_error or "The server is not configured."))
        return self.client

    def model(self, requested: str | None) -> str:
        name = (requested or "").strip() or self.default_model()
        if not name:
            raise ToolError(
                "No model given and no default model is set. Pass `model` (see ollama_list_models), or set "
                "a default: OLLAMA_DEFAULT_MODEL, or `ollama-mcp-tray setup`, or the tray's Models menu."
            )
        return name

    @asynccontextmanager
    async def call(self, tool: str, model: str | None) -> AsyncIterator[dict[str, Any]]:
        """Map our errors to ToolError and write one usage record whatever the outcome."""
        stats: dict[str, Any] = {}
        outcome = "ok"
        try:
            client = self.require_client()
            with client.capped():
                yield stats
        except (OllamaError, MaterialError) as exc:
            outcome = type(exc).__name__
            raise ToolError(str(exc)) from exc
        except ToolError:
            outcome = "ToolError"
            raise
        except BaseException as exc:
            outcome = "cancelled" if isinstance(exc, anyio.get_cancelled_exc_class()) else type(exc).__name__
            raise
        finally:
            if self.usage is not None:
                self.usage.append(
                    UsageRecord(
                        ts=self.clock(),
                        tool=tool,
                        model=model,
                        outcome=outcome,
                        prompt_tokens=int(stats.get("prompt_tokens", 0)),
                        output_tokens=int(stats.get("output_tokens", 0)),
                        total_duration_s=float(stats.get("total_duration_ms", 0.0)) / 1000,
                        eval_duration_s=float(stats.get("eval_duration_ms", 0.0)) / 1000,
                        files_read=int(stats.get("files_read", 0)),
                        bytes_read=int(stats.get("bytes_read", 0)),
                        tokens_returned=int(stats.get("tokens_returned", 0)),
                        kept_out_tokens=int(stats.get("kept_out_tokens", 0)),
                    ),
                )


def _file_stamp(path: Path) -> FileStamp | None:
    """What tells a rewritten file from the one read before: the writers replace files whole (a new inode), and
    the inode and size catch a rewrite within the file system's timestamp granularity."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def _connection(config: ServerConfig) -> tuple[object, ...]:
    """What a client is built from: a change in any of these needs a new client."""
    return config.base_url, config.key, config.key_header, config.auth_scheme, config.ca_file, config.timeouts


def _ms(value: Any) -> float:
    return round(value / 1e6, 3) if isinstance(value, int | float) else 0.0


def _options(ceiling: int | None, options: OllamaOptions | None = None, **values: Any) -> dict[str, Any]:
    """Ollama's options: the named arguments over `options`, and the default num_predict when neither sets one."""
    extra = options.wire() if options is not None else {}
    merged = {**extra, **{k: v for k, v in values.items() if v is not None}}
    if ceiling is not None and "num_predict" not in merged:
        merged["num_predict"] = ceiling
    return merged


def _request_body(model: str, options: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, **{k: v for k, v in fields.items() if v is not None}}
    if options:
        body["options"] = options
    return body


def _finish(model: str, final: dict[str, Any], answer: str, thinking: str, calls: list[Any]) -> GenerationResult:
    out = int(final.get("eval_count") or 0)
    eval_ns = final.get("eval_duration") or 0
    return GenerationResult(
        model=str(final.get("model") or model),
        response=answer,
        thinking=thinking or None,
        tool_calls=calls or None,
        done_reason=final.get("done_reason"),
        prompt_tokens=int(final.get("prompt_eval_count") or 0),
        output_tokens=out,
        total_duration_ms=_ms(final.get("total_duration")),
        load_duration_ms=_ms(final.get("load_duration")),
        prompt_eval_duration_ms=_ms(final.get("prompt_eval_duration")),
        eval_duration_ms=_ms(eval_ns),
        tokens_per_second=round(out / eval_ns * 1e9, 2) if out and eval_ns else None,
    )


_background: set[asyncio.Task[None]] = set()  # strong references until each heartbeat task ends


async def _heartbeat(ctx: Context, started: float, model: str) -> None:
    """Progress while nothing has arrived yet (the model is loading), so the client knows we are alive."""
    while True:
        waited = anyio.current_time() - started
        await ctx.report_progress(round(waited, 3), None, f"Waiting for {model} to load ({waited:.0f} s)")
        await asyncio.sleep(HEARTBEAT_S)


class TokenReports:
    """When streamed tokens are reported: the first at once (the client learns the model is answering), later
    ones at most every TOKEN_REPORT_S (a fast stream sends thousands of tokens a second, a client uses a few)."""

    def __init__(self) -> None:
        self.last: float | None = None  # when tokens were last reported; None: not yet

    def due(self, now: float) -> bool:
        if self.last is not None and now - self.last < TOKEN_REPORT_S:
            return False
        self.last = now
        return True


async def stream_generation(
    tc: ToolContext, ctx: Context, path: str, body: dict[str, Any], model: str, stats: dict[str, Any]
) -> GenerationResult:
    """Stream a generate or chat request, reporting progress, and gather the answer."""
    client = tc.require_client()
    answer: list[str] = []
    thinking: list[str] = []
    calls: list[Any] = []
    final: dict[str, Any] = {}
    pieces = 0
    started = anyio.current_time()
    reports = TokenReports()
    # The heartbeat starts only if the first chunk is late: a timer costs microseconds, a task per call does not.
    loop = asyncio.get_running_loop()
    heartbeat: asyncio.Task[None] | None = None

    def start_heartbeat() -> None:
        nonlocal heartbeat
        heartbeat = loop.create_task(_heartbeat(ctx, started, model))
        _background.add(heartbeat)
        heartbeat.add_done_callback(_background.discard)

    timer = loop.call_later(HEARTBEAT_S, start_heartbeat)
    try:
        async for chunk in client.stream(path, body, model=model):
            if heartbeat is not None or not timer.cancelled():
                timer.cancel()
                if heartbeat is not None:
                    heartbeat.cancel()
                    heartbeat = None
            message = chunk.get("message")
            source = message if isinstance(message, dict) else chunk
            text = source.get("content" if message is not None else "response") or ""
            if text:
                answer.append(text)
                pieces += 1
            if source.get("thinking"):
                thinking.append(str(source["thinking"]))
                pieces += 1
            if isinstance(message, dict) and message.get("tool_calls"):
                calls.extend(message["tool_calls"])
            if chunk.get("done"):
                final = chunk
            if not pieces:
                continue
            now = anyio.current_time()
            if reports.due(now):
                phase = "thinking" if thinking and not answer else "generating"
                await ctx.report_progress(round(now - started, 3), None, f"{model}: {phase}, {pieces} tokens")
    finally:
        timer.cancel()
        if heartbeat is not None:
            heartbeat.cancel()
    result = _finish(model, final, "".join(answer), "".join(thinking), calls)
    stats.update(result.model_dump(include={"prompt_tokens", "output_tokens", "total_duration_ms", "eval_duration_ms"}))
    return result


def generation_output(result: GenerationResult, limit: int | None = None) -> CallToolResult:
    """The answer as text for the model to read; everything else as structured content."""
    text = result.response
    if not text and result.tool_calls:
        text = "Tool calls: " + json.dumps(result.tool_calls)
    if result.done_reason == "length":
        text += f"\n\n[cut off: num_predict reached after {result.output_tokens} tokens{_limit_note(limit)}]"
    if not text:
        text = "(the model returned an empty answer)"
    return CallToolResult(
        content=[TextContent(type="text", text=text)], structured_content=result.model_dump(mode="json")
    )


def _defaulted(tc: ToolContext, num_predict: int | None, options: OllamaOptions | None) -> int | None:
    """The default num_predict when the call set none (so a cut-off answer can say which limit it hit)."""
    if num_predict is not None or (options is not None and options.num_predict is not None):
        return None
    return tc.config.default_num_predict


def _limit_note(limit: int | None) -> str:
    if limit is None:
        return ""
    return (
        f"; that is the default limit (OLLAMA_DEFAULT_NUM_PREDICT={limit}), which stops a model that never ends. "
        "Pass a larger num_predict for a longer answer"
    )


MANAGEMENT = ("pull", "delete")
"""The tools offered only while the management switch is on."""


def build_tools(tc: ToolContext, *, every: bool = False) -> dict[str, Callable[..., Awaitable[Any]]]:
    """The tool functions, closed over the shared context. Keys are names without the `ollama_` prefix.

    The management tools are included when the switch is on, or always with `every` (the server keeps them
    at hand to offer when the switch is turned on while it runs)."""

    async def generate(
        ctx: Context,
        prompt: Annotated[str, Field(description="The prompt.")],
        model: ModelArg = None,
        system: SystemArg = None,
        temperature: TemperatureArg = None,
        num_ctx: NumCtxArg = None,
        num_predict: NumPredictArg = None,
        seed: SeedArg = None,
        stop: StopArg = None,
        format: FormatArg = None,
        think: ThinkArg = None,
        keep_alive: KeepAliveArg = None,
        options: OptionsArg = None,
    ) -> Annotated[CallToolResult, GenerationResult]:
        name = tc.model(model)
        if not prompt.strip():
            raise ToolError("The prompt is empty. Pass the text the model should respond to.")
        opts = _options(
            tc.config.default_num_predict,
            temperature=temperature,
            num_ctx=num_ctx,
            num_predict=num_predict,
            seed=seed,
            stop=stop,
            options=options,
        )
        body = _request_body(
            name, opts, prompt=prompt, system=system, format=format, think=think, keep_alive=keep_alive
        )
        async with tc.call("generate", name) as stats:
            result = await stream_generation(tc, ctx, "/api/generate", body, name, stats)
        return generation_output(result, _defaulted(tc, num_predict, options))

    async def chat(
        ctx: Context,
        messages: Annotated[list[ChatMessage], Field(min_length=1, description="The conversation so far.")],
        model: ModelArg = None,
        temperature: TemperatureArg = None,
        num_ctx: NumCtxArg = None,
        num_predict: NumPredictArg = None,
        seed: SeedArg = None,
        stop: StopArg = None,
        format: FormatArg = None,
        think: ThinkArg = None,
        keep_alive: KeepAliveArg = None,
        options: OptionsArg = None,
        tools: Annotated[
            list[dict[str, Any]] | None,
            Field(description="Functions the model may call, in Ollama's format; its calls come back in tool_calls."),
        ] = None,
    ) -> Annotated[CallToolResult, GenerationResult]:
        name = tc.model(model)
        opts = _options(
            tc.config.default_num_predict,
            temperature=temperature,
            num_ctx=num_ctx,
            num_predict=num_predict,
            seed=seed,
            stop=stop,
            options=options,
        )
        wire = [m.model_dump(exclude_none=True) for m in messages]
        body = _request_body(name, opts, messages=wire, tools=tools, format=format, think=think, keep_alive=keep_alive)
        async with tc.call("chat", name) as stats:
            result = await stream_generation(tc, ctx, "/api/chat", body, name, stats)
        return generation_output(result, _defaulted(tc, num_predict, options))

    async def list_models() -> ModelList:
        async with tc.call("list_models", None):
            client = tc.require_client()
            models = await client.list_models()
            loaded = {m.name.lower() for m in await client.running()}
        if tc.model_cache is not None:
            write_model_cache(tc.model_cache, [m.name for m in models])
        default = tc.default_model()
        return ModelList(
            models=[
                ModelEntry(
                    name=m.name,
                    size_bytes=m.size,
                    size=human_size(m.size),
                    family=m.family,
                    parameter_size=m.parameter_size,
                    quantization=m.quantization,
                    capabilities=list(m.capabilities),
                    context_length=m.context_length,
                    loaded=m.name.lower() in loaded,
                    is_default=bool(default) and same_model(m.name, default or ""),
                )
                for m in models
            ],
            default_model=default,
            ollama_url=tc.config.base_url,
        )

    async def show(model: ModelArg = None) -> ModelDetails:
        name = tc.model(model)
        async with tc.call("show", name):
            data = await tc.require_client().show(name)
        return details_from_show(name, data)

    async def ps() -> LoadedList:
        async with tc.call("ps", None):
            loaded = await tc.require_client().running()
        return LoadedList(
            models=[
                LoadedEntry(
                    name=m.name,
                    size_bytes=m.size,
                    vram_bytes=m.size_vram,
                    expires_at=m.expires_at,
                    context_length=m.context_length,
                )
                for m in loaded
            ]
        )

    async def embed(
        input: Annotated[str | list[str], Field(description="A text, or a list of texts.")],
        model: ModelArg = None,
        dimensions: Annotated[int | None, Field(gt=0, description="Shorten vectors to this many dimensions.")] = None,
        truncate: Annotated[bool, Field(description="Cut inputs longer than the context (else an error).")] = True,
        keep_alive: KeepAliveArg = None,
    ) -> EmbeddingResult:
        name = tc.model(model)
        body = _request_body(name, {}, input=input, dimensions=dimensions, truncate=truncate, keep_alive=keep_alive)
        async with tc.call("embed", name) as stats:
            data = await tc.require_client().embed(body)
            vectors = data.get("embeddings")
            if not isinstance(vectors, list):
                raise ToolError(f"Ollama's reply for {name} held no embeddings. Is it an embedding model?")
            stats["prompt_tokens"] = int(data.get("prompt_eval_count") or 0)
            stats["total_duration_ms"] = _ms(data.get("total_duration"))
        return EmbeddingResult(
            model=name,
            embeddings=vectors,
            dimensions=len(vectors[0]) if vectors else 0,
            prompt_tokens=stats["prompt_tokens"],
            total_duration_ms=stats["total_duration_ms"],
        )

    async def pull(
        ctx: Context, model: Annotated[str, Field(min_length=1, description="The model to download.")]
    ) -> PullResult:
        _require_management(tc)
        completed = total = 0
        status = ""
        async with tc.call("pull", model):
            started = anyio.current_time()
            async for chunk in tc.require_client().stream("/api/pull", {"model": model}, model=model):
                status = str(chunk.get("status") or status)
                if isinstance(chunk.get("total"), int):
                    total = chunk["total"]
                    completed = int(chunk.get("completed") or 0)
                progress = completed if total else round(anyio.current_time() - started, 3)
                await ctx.report_progress(progress, total or None, f"{model}: {status}")
        if status != "success":
            raise ToolError(f"Pulling {model} ended with '{status}' instead of success. Try again.")
        return PullResult(model=model, status=status, completed_bytes=completed, total_bytes=total)

    async def delete(model: Annotated[str, Field(min_length=1, description="The model to delete.")]) -> DeleteResult:
        _require_management(tc)
        async with tc.call("delete", model):
            await tc.require_client().delete(model)
        return DeleteResult(model=model, deleted=True)

    tools: dict[str, Callable[..., Awaitable[Any]]] = {
        "generate": generate,
        "chat": chat,
        "list_models": list_models,
        "show": show,
        "ps": ps,
        "embed": embed,
    }
    if every or tc.management_allowed():
        tools["pull"] = pull
        tools["delete"] = delete
    return tools


def _require_management(tc: ToolContext) -> None:
    # A client may still hold a tool list from before the switch was turned off.
    if not tc.management_allowed():
        raise ToolError(
            "Model management is turned off (allow_model_management), so models cannot be pulled or deleted "
            "from here. Ask the user to run `ollama pull`/`ollama rm` or to turn it on in the tray."
        )


def details_from_show(name: str, data: dict[str, Any]) -> ModelDetails:
    """Pick the useful parts of /api/show (model_info keys are prefixed by the architecture)."""
    details = data.get("details") if isinstance(data.get("details"), dict) else {}
    info = data.get("model_info") if isinstance(data.get("model_info"), dict) else {}
    assert isinstance(details, dict) and isinstance(info, dict)
    arch = info.get("general.architecture")

    def arch_int(key: str) -> int | None:
        value = info.get(f"{arch}.{key}") if arch else None
        return value if isinstance(value, int) else None

    license_text = data.get("license")
    if isinstance(license_text, list):
        license_text = "\n".join(str(x) for x in license_text)
    return ModelDetails(
        model=name,
        family=details.get("family"),
        parameter_size=details.get("parameter_size"),
        quantization=details.get("quantization_level"),
        context_length=arch_int("context_length"),
        embedding_length=arch_int("embedding_length"),
        capabilities=[str(c) for c in data.get("capabilities") or []],
        parameters=data.get("parameters") or None,
        system=data.get("system") or None,
        template=data.get("template") or None,
        license="\n".join(license_text.splitlines()[:3]) if isinstance(license_text, str) else None,
        modified_at=data.get("modified_at"),
    )
