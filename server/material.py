"""The engine under the material tools: the model's limits, one fitted request, and map-reduce over parts.

Every request goes through `OllamaClient.stream` on the native `/api/chat` with `options.num_ctx` sized to its
input, `truncate: false` (Ollama then refuses an input that does not fit instead of dropping part of it; see
tests/emulator/FACTS.md) and `think: false`. A refusal for length splits the part in two and tries again.
Thinking that arrives anyway is dropped: answers never carry it.
"""

from __future__ import annotations

import json
import logging
import re
import urllib.parse
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import anyio
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.resolve import ListRoots, Resolve
from mcp_types import ListRootsResult

from .config import MaterialConfig
from .confine import Confinement, roots_from_uris
from .errors import MaterialError, OllamaError, OllamaResponseError
from .fitting import Part, Piece, choose_num_ctx, fit_tokens, halve, pack

log = logging.getLogger(__name__)

MAX_SPLITS = 4  # a part refused for length is halved at most this many times
MARGIN_TOKENS = 96  # the chat template's own tokens around our messages
# A part may wait its turn in Ollama's queue (OLLAMA_NUM_PARALLEL is 1 by default) and then evaluate a long
# prompt before the first byte: allow that much silence, or the configured idle timeout if it is longer.
QUEUED_IDLE_S = 900.0
SYSTEM = (
    "You work on material read from the user's own machine: source code, documents, diffs, logs. Be exact and "
    "brief. Use only the material given; never invent files, lines or facts. Lines are numbered 'N: text'; cite "
    "them as path:N."
)
_THINK_BLOCK = re.compile(r"<think>.*?</think>\s*", re.DOTALL)
_TOO_LONG = re.compile(
    r"exceeds the available context|exceed_context_size|input length exceeds|longer than the context", re.IGNORECASE
)
_LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}

Progress = Callable[[float, float | None, str], Awaitable[None]]


async def run_all(jobs: Sequence[Callable[[], Awaitable[None]]]) -> None:
    """Run jobs concurrently; the first failure cancels the rest and is raised as itself (not in a group)."""
    failures: list[BaseException] = []

    async def guard(job: Callable[[], Awaitable[None]], scope: anyio.CancelScope) -> None:
        try:
            await job()
        except (MaterialError, OllamaError) as exc:
            failures.append(exc)
            scope.cancel()

    async with anyio.create_task_group() as tg:
        for job in jobs:
            tg.start_soon(guard, job, tg.cancel_scope)
    if failures:
        raise failures[0]


class ContextOverflow(MaterialError):
    """Ollama refused a request whose input did not fit its context (only seen with `truncate: false`)."""


@dataclass(frozen=True)
class ModelFacts:
    """What /api/show says about a model that matters here."""

    name: str
    context_length: int
    remote_host: str | None  # a cloud model runs there


def _cloud_name(name: str) -> bool:
    tag = name.rsplit("/", 1)[-1].partition(":")[2].lower()
    return tag == "cloud" or tag.endswith("-cloud")


class ModelFactsCache:
    """Per process: a model's context length and where it runs, asked of /api/show once."""

    def __init__(self) -> None:
        self._facts: dict[str, ModelFacts] = {}

    async def get(self, client: Any, name: str) -> ModelFacts:
        key = name.strip().lower()
        if key not in self._facts:
            data = await client.show(name)
            info = data.get("model_info") if isinstance(data.get("model_info"), dict) else {}
            assert isinstance(info, dict)
            arch = info.get("general.architecture")
            length = info.get(f"{arch}.context_length") if arch else None
            if not isinstance(length, int) or isinstance(length, bool) or length <= 0:
                # No length known (an old or odd model): Ollama's smallest default context is safe.
                length = 4096
            remote = data.get("remote_host") if isinstance(data.get("remote_host"), str) else None
            if remote is None and _cloud_name(name):
                remote = "ollama.com"
            self._facts[key] = ModelFacts(name, length, remote or None)
        return self._facts[key]


def destination(base_url: str, facts: ModelFacts) -> str:
    """Where material sent to this model goes: 'this machine', or a host name."""
    if facts.remote_host:
        host = urllib.parse.urlsplit(facts.remote_host).hostname or facts.remote_host
        return f"{host} (cloud model)"
    host = urllib.parse.urlsplit(base_url).hostname or base_url
    return "this machine" if host in _LOOPBACK else host


def ask_roots(ctx: Context) -> ListRootsResult | ListRoots:
    """A resolver: the client's roots (MCP roots/list) when it offers them, else none.

    The SDK sends the request the way the negotiated protocol wants it (a request mid-call, or input-required
    rounds) and fills the tool's `roots` parameter with the answer.
    """
    caps = ctx.client_capabilities
    if caps is not None and caps.roots is not None:
        return ListRoots()
    return ListRootsResult(roots=[])


RootsArg = Annotated[ListRootsResult, Resolve(ask_roots)]


def confinement(roots: ListRootsResult, config: MaterialConfig) -> Confinement:
    """The rules for one call: the client's roots plus the user's allowed folders, and the caps."""
    folders = [*roots_from_uris(str(r.uri) for r in roots.roots), *(Path(f) for f in config.allowed_folders)]
    return Confinement(
        folders,
        allow_patterns=config.allow_patterns,
        max_file_bytes=config.max_file_bytes,
        max_total_bytes=config.max_total_bytes,
    )


@dataclass(frozen=True)
class Task:
    """What a tool asks of the model."""

    system: str
    instruction: str  # for the whole material, or for one part of it
    combine: str = ""  # for the partial answers of several parts
    answer_tokens: int = 1024
    format: dict[str, Any] | None = None


@dataclass
class Tally:
    requests: int = 0
    prompt_eval_count: int = 0
    output_tokens: int = 0
    parts: int = 0


@dataclass
class Runner:
    """Sends fitted requests for one tool call."""

    client: Any
    facts: ModelFacts
    config: MaterialConfig
    progress: Progress | None = None
    tally: Tally = field(default_factory=Tally)
    loaded_ctx: int | None = None  # the context the model is loaded with now (/api/ps), if it is loaded

    def __post_init__(self) -> None:
        self.limit = min(self.facts.context_length, self.config.max_ctx)
        self._slots = anyio.Semaphore(max(1, self.config.parallel))

    def budget(self, task: Task) -> int:
        """Fit-tokens of material one request can carry for `task`."""
        room = self.limit - task.answer_tokens - fit_tokens(task.system + task.instruction) - MARGIN_TOKENS
        if room < 256:
            raise MaterialError(
                f"{self.facts.name} has too small a context ({self.limit} tokens) for this task. Use a model "
                "with a longer context (see ollama_list_models), or do the task yourself."
            )
        return room

    def num_ctx(self, needed: int) -> int:
        """The context for a request needing `needed` tokens: the loaded model's when it is big enough (another
        size would make Ollama reload the model), else the smallest power of two that holds it."""
        if self.loaded_ctx is not None and needed <= self.loaded_ctx <= self.facts.context_length:
            return self.loaded_ctx
        return choose_num_ctx(needed, self.limit)

    async def complete(self, task: Task, material: str, instruction: str) -> str:
        """One request; the answer without any thinking.

        Raises:
            ContextOverflow: Ollama said the input does not fit.
            MaterialError: the answer is empty.
        """
        user = f"{material}\n\n---\n{instruction}" if material else instruction
        needed = fit_tokens(task.system) + fit_tokens(user) + task.answer_tokens + MARGIN_TOKENS
        body: dict[str, Any] = {
            "model": self.facts.name,
            "messages": [{"role": "system", "content": task.system}, {"role": "user", "content": user}],
            "options": {"num_ctx": self.num_ctx(needed), "num_predict": task.answer_tokens, "temperature": 0},
            "truncate": False,
            "think": False,
        }  # fmt: skip
        if task.format is not None:
            body["format"] = task.format
        pieces: list[str] = []
        async with self._slots:
            self.tally.requests += 1
            try:
                idle = max(QUEUED_IDLE_S, self.client.config.timeouts.idle)
                async for chunk in self.client.stream("/api/chat", body, model=self.facts.name, idle=idle):
                    message = chunk.get("message")
                    if isinstance(message, dict) and message.get("content"):
                        pieces.append(str(message["content"]))
                    if chunk.get("done"):
                        self.tally.prompt_eval_count += int(chunk.get("prompt_eval_count") or 0)
                        self.tally.output_tokens += int(chunk.get("eval_count") or 0)
            except OllamaResponseError as exc:
                if _TOO_LONG.search(exc.ollama_message):
                    raise ContextOverflow(exc.ollama_message) from exc
                raise
        answer = _THINK_BLOCK.sub("", "".join(pieces)).strip()
        if not answer:
            raise MaterialError(
                f"The local model {self.facts.name} returned an empty answer. Do this task yourself, or try "
                "another model (see ollama_list_models)."
            )
        return answer

    async def _part(self, task: Task, part: Part, instruction: str, depth: int = 0) -> list[str]:
        try:
            return [await self.complete(task, part.text, instruction)]
        except ContextOverflow as exc:
            smaller = halve(part)
            if depth >= MAX_SPLITS or len(smaller) < 2:
                raise MaterialError(
                    f"Ollama refused {part.label} as longer than {self.facts.name}'s context even after splitting "
                    f"({exc}). Do this task yourself, or use a model with a longer context."
                ) from exc
            log.info("Ollama refused %s as too long; splitting it in %d", part.label, len(smaller))
            self.tally.parts += len(smaller) - 1
            answers: list[str] = []
            for sub in smaller:
                answers.extend(await self._part(task, sub, instruction, depth + 1))
            return answers

    async def run(self, task: Task, pieces: Sequence[Piece]) -> str:
        """The answer over all pieces: one request when they fit, else map over parts and reduce."""
        parts = pack(pieces, self.budget(task))
        self.tally.parts = len(parts)
        if len(parts) == 1:
            await self.report(0, 1, f"part 1/1: {parts[0].label}")
            answers = await self._part(task, parts[0], task.instruction)
            if len(answers) == 1:
                return answers[0]
            return await self.reduce(task, [(parts[0].label, a) for a in answers])
        results: list[list[str]] = [[] for _ in parts]
        done = 0

        async def one(index: int, part: Part) -> None:
            nonlocal done
            note = f"{task.instruction}\n(This is part {index + 1} of {len(parts)}; the others are handled apart.)"
            results[index] = await self._part(task, part, note)
            done += 1
            await self.report(done, len(parts) + 1, f"part {index + 1}/{len(parts)}: {part.label}")

        await run_all([partial(one, index, part) for index, part in enumerate(parts)])
        labelled = [(part.label, answer) for part, answers in zip(parts, results, strict=True) for answer in answers]
        await self.report(len(parts), len(parts) + 1, "combining the parts")
        return await self.reduce(task, labelled)

    async def reduce(self, task: Task, answers: Sequence[tuple[str, str]]) -> str:
        """Combine partial answers, in rounds when they do not fit one request."""
        reduce_task = Task(task.system, task.combine or task.instruction, task.combine, task.answer_tokens, task.format)
        pieces = [Piece(label, label, f"=== partial answer: {label} ===\n{text}") for label, text in answers]
        budget = self.budget(reduce_task)
        while True:
            groups = pack(pieces, budget)
            if len(groups) == len(pieces) > 1:
                raise MaterialError(
                    f"The partial answers do not fit {self.facts.name}'s context together, so they cannot be "
                    "combined. Ask about fewer files, or do this task yourself."
                )
            if len(groups) == 1:
                return await self.complete(reduce_task, groups[0].text, reduce_task.instruction)
            merged: list[str] = [""] * len(groups)

            async def merge(index: int, group: Part, merged: list[str] = merged) -> None:
                merged[index] = await self.complete(reduce_task, group.text, reduce_task.instruction)

            await run_all([partial(merge, index, group) for index, group in enumerate(groups)])
            pieces = [
                Piece(g.label, g.label, f"=== partial answer: {g.label} ===\n{m}")
                for g, m in zip(groups, merged, strict=True)
            ]

    async def report(self, done: float, total: float | None, message: str) -> None:
        if self.progress is not None:
            await self.progress(done, total, message)


def json_problem(validator: Any, answer: str) -> str | None:
    """Why `answer` is not JSON valid for `validator` (a jsonschema validator), or None when it is."""
    try:
        value = json.loads(answer)
    except ValueError as exc:
        return f"not JSON ({exc})"
    error = next(iter(validator.iter_errors(value)), None)
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "the top level"
    return f"at {where}: {error.message}"
