"""The material tools: Claude names files, folders, globs, a diff or a log; the server reads them, a local model
does the work, and only the result goes back.

Each tool: confine and read (server/confine.py), fit and map-reduce (server/fitting.py, server/material.py),
then one `MaterialResult` with the answer, what was read and skipped, where the material went, and the
accounting. Any failure is a tool error telling Claude why and to do the task itself.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Annotated, Any, Literal

import anyio
from mcp.server.mcpserver import Context
from mcp_types import CallToolResult, ListRootsResult, TextContent
from pydantic import Field

from .confine import Confinement, Document, Gathered, Skipped, shown_skips
from .errors import MaterialError, OllamaError
from .fitting import Piece, account_tokens, render
from .gitdiff import diff_from_text, number_diff, read_diff
from .labelling import label_entries
from .material import SYSTEM, ModelFactsCache, RootsArg, Runner, Task, confinement, destination, json_problem
from .ollama_client import same_model
from .results import MaterialFile, MaterialResult, MaterialSkip
from .tools import ToolContext

FOOTER_SKIPS = 10  # skipped paths named in the text answer; the rest are in the structured content

Str = Annotated[str, Field(strict=True, min_length=1, max_length=4096)]
PathsArg = Annotated[
    list[Str] | None,
    Field(
        strict=True,
        max_length=500,
        description="Files, folders or globs ('src/**/*.py'), relative to the project folder or absolute. "
        "Folders and globs honour .gitignore; secret-shaped, binary and oversized files are skipped.",
    ),
]
TextArg = Annotated[
    str | None, Field(strict=True, max_length=20_000_000, description="Plain text to use instead of (or with) paths.")
]
ModelArg = Annotated[
    str | None, Field(strict=True, max_length=300, description="Ollama model; omit for the default. Local only.")
]


MATERIAL_TOOLS = ("ask_files", "summarize_files", "extract_json", "review_diff", "label_items", "digest_log")
"""The material tools' names without the `ollama_` prefix, as `build_material_tools` keys them."""


@dataclass(frozen=True)
class MaterialTool:
    fn: Callable[..., Awaitable[CallToolResult]]
    description: str


def build_material_tools(tc: ToolContext) -> dict[str, MaterialTool]:
    """The material tools, keyed by name without the `ollama_` prefix."""
    facts_cache = ModelFactsCache()
    config = tc.config.material

    async def gather(
        roots: ListRootsResult, paths: Sequence[str] | None, text: str | None
    ) -> tuple[Confinement, Gathered]:
        if not paths and not (text or "").strip():
            raise MaterialError("Pass `paths` (files, folders or globs) or `text`.")
        rules = confinement(roots, config)
        got = await anyio.to_thread.run_sync(rules.gather, list(paths or [])) if paths else Gathered()
        if text and text.strip():
            got.documents.insert(0, Document("(text)", text, len(text.encode("utf-8"))))
        if not got.documents:
            reasons = "; ".join(f"{s.path}: {s.reason}" for s in got.skipped[:FOOTER_SKIPS]) or "no files"
            raise MaterialError(
                f"Nothing readable was found ({reasons}). Nothing was sent to the model. If you may read these "
                "files, do the task yourself; or pass other paths."
            )
        return rules, got

    async def runner(ctx: Context, model: str | None) -> Runner:
        name = tc.model(model)
        client = tc.require_client()
        facts = await facts_cache.get(client, name)
        if facts.remote_host and not config.allow_cloud_models:
            raise MaterialError(
                f"{name} is a cloud model (it runs on {facts.remote_host}, off this machine). Material tools send "
                "file contents to the model, and the user has not allowed cloud models for them "
                "(`allow_cloud_models` in the app's settings). Use a local model (see ollama_list_models)."
            )

        async def progress(done: float, total: float | None, message: str) -> None:
            await ctx.report_progress(done, total, message)

        try:
            loaded = next((m.context_length for m in await client.running() if same_model(m.name, name)), None)
        except OllamaError:  # only an optimisation: without it, the context is sized from scratch
            loaded = None
        return Runner(client, facts, config, progress, loaded_ctx=loaded)

    def finish(
        run: Runner, got: Gathered, answer: str, stats: dict[str, Any], started: float, **extra: Any
    ) -> CallToolResult:
        where = destination(tc.config.base_url, run.facts)
        # Only what the server read from disk counts: text Claude passed in was in its context already.
        local = [d for d in got.documents if not d.path.startswith("(")]  # "(text)", "(items)" are Claude's
        local_bytes = sum(d.size for d in local)
        tokens_read = account_tokens(local_bytes)
        skips = shown_skips(got.skipped)
        result = MaterialResult(
            answer=answer,
            model=run.facts.name,
            material_went_to=where,
            read=[MaterialFile(path=d.path, bytes=d.size) for d in got.documents],
            skipped=[MaterialSkip(path=s.path, reason=s.reason) for s in skips],
            parts=run.tally.parts,
            requests=run.tally.requests,
            files_read=len(local),
            bytes_read=local_bytes,
            tokens_read=tokens_read,
            prompt_eval_count=run.tally.prompt_eval_count,
            output_tokens=run.tally.output_tokens,
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
            **extra,
        )
        footer = _footer(result, got.skipped)
        # Claude may be shown both the text and the structured content: count both (an upper bound).
        returned = account_tokens(f"{answer}\n\n---\n{footer}") + account_tokens(result.model_dump_json()) + 8
        result.tokens_returned = returned
        result.kept_out_tokens = max(0, tokens_read - returned)
        text = f"{answer}\n\n---\n{footer.replace('{kept}', str(result.kept_out_tokens))}"
        stats.update(
            prompt_tokens=result.prompt_eval_count,
            output_tokens=result.output_tokens,
            total_duration_ms=result.duration_ms,
            files_read=result.files_read,
            bytes_read=result.bytes_read,
            tokens_returned=returned,
            kept_out_tokens=result.kept_out_tokens,
        )
        return CallToolResult(
            content=[TextContent(type="text", text=text)], structured_content=result.model_dump(mode="json")
        )

    def pieces(got: Gathered, run: Runner, task: Task, numbered: bool = True) -> list[Piece]:
        budget = run.budget(task)
        return [p for d in got.documents for p in render(d.path, d.text, budget, numbered)]

    async def ask_files(
        ctx: Context,
        roots: RootsArg,
        question: Annotated[str, Field(strict=True, min_length=1, max_length=20_000, description="The question.")],
        paths: PathsArg = None,
        text: TextArg = None,
        model: ModelArg = None,
    ) -> Annotated[CallToolResult, MaterialResult]:
        started = time.perf_counter()
        async with tc.call("ask_files", model or tc.default_model()) as stats:
            run = await runner(ctx, model)
            _, got = await gather(roots, paths, text)
            task = Task(
                SYSTEM,
                f"Answer this question from the material above: {question}\nCite the lines you rely on as "
                "path:line. If the material does not hold the answer, say so plainly.",
                "Partial answers to the question below came from different parts of the material. Combine them "
                f"into one answer, keeping their path:line citations; drop parts that found nothing. Question: "
                f"{question}",
            )
            answer = await run.run(task, pieces(got, run, task))
            return finish(run, got, answer, stats, started)

    async def summarize_files(
        ctx: Context,
        roots: RootsArg,
        paths: PathsArg = None,
        text: TextArg = None,
        focus: Annotated[
            str | None, Field(strict=True, max_length=2000, description="What the summary should attend to.")
        ] = None,
        length: Annotated[
            Literal["short", "medium", "long"], Field(description="short: a paragraph; long: a page.")
        ] = "medium",
        model: ModelArg = None,
    ) -> Annotated[CallToolResult, MaterialResult]:
        started = time.perf_counter()
        size = {"short": "in one paragraph", "medium": "in about ten lines", "long": "in about a page"}[length]
        aim = f" Attend to: {focus}." if focus else ""
        async with tc.call("summarize_files", model or tc.default_model()) as stats:
            run = await runner(ctx, model)
            _, got = await gather(roots, paths, text)
            task = Task(
                SYSTEM,
                f"Summarise the material above {size}: what it is, its main parts and how they fit together.{aim} "
                "Name files by path.",
                f"These are summaries of parts of one body of material. Write one summary of the whole {size}."
                f"{aim} Name files by path.",
                answer_tokens={"short": 400, "medium": 800, "long": 1600}[length],
            )
            answer = await run.run(task, pieces(got, run, task, numbered=False))
            return finish(run, got, answer, stats, started)

    async def extract_json(
        ctx: Context,
        roots: RootsArg,
        schema: Annotated[dict[str, Any], Field(description="The JSON schema the answer must validate against.")],
        instructions: Annotated[
            str, Field(strict=True, min_length=1, max_length=20_000, description="What to extract.")
        ],
        paths: PathsArg = None,
        text: TextArg = None,
        model: ModelArg = None,
    ) -> Annotated[CallToolResult, MaterialResult]:
        started = time.perf_counter()
        async with tc.call("extract_json", model or tc.default_model()) as stats:
            import jsonschema  # only here: it costs the server's start about 0.2 s, and most sessions never extract

            try:
                validator_cls = jsonschema.validators.validator_for(schema)
                validator_cls.check_schema(schema)
            except jsonschema.SchemaError as exc:
                raise MaterialError(f"`schema` is not a valid JSON schema: {exc.message}.") from exc
            validator = validator_cls(schema)
            run = await runner(ctx, model)
            _, got = await gather(roots, paths, text)
            shape = json.dumps(schema, separators=(",", ":"))
            task = Task(
                SYSTEM,
                f"Extract from the material above: {instructions}\nAnswer with JSON only, valid against this "
                f"schema: {shape}",
                f"These JSON values were extracted from parts of one body of material. Merge them into one JSON "
                f"value valid against this schema: {shape}",
                answer_tokens=2048,
                format=schema,
            )
            material = pieces(got, run, task)
            answer = await run.run(task, material)
            problem = json_problem(validator, answer)
            if problem is not None:
                retry = Task(task.system, f"{task.instruction}\nA first answer was invalid: {problem}. Fix that.",
                             task.combine, task.answer_tokens, task.format)  # fmt: skip
                answer = await run.run(retry, material)
                problem = json_problem(validator, answer)
            if problem is not None:
                raise MaterialError(
                    f"The local model's JSON did not validate against the schema twice ({problem}). Do this "
                    "extraction yourself, or simplify the schema."
                )
            return finish(run, got, answer, stats, started, data=json.loads(answer))

    async def review_diff(
        ctx: Context,
        roots: RootsArg,
        repo: Annotated[
            str, Field(strict=True, min_length=1, max_length=4096, description="The repository folder.")
        ] = ".",
        staged: Annotated[
            bool, Field(strict=True, description="Review the staged changes (git diff --cached).")
        ] = False,
        revision: Annotated[
            str | None,
            Field(strict=True, max_length=300, description="A revision or range, e.g. 'main..HEAD' or 'HEAD~3'."),
        ] = None,
        paths: PathsArg = None,
        focus: Annotated[str | None, Field(strict=True, max_length=2000, description="What to look for.")] = None,
        text: Annotated[
            str | None, Field(strict=True, max_length=20_000_000, description="A diff as text, instead of running git.")
        ] = None,
        model: ModelArg = None,
    ) -> Annotated[CallToolResult, MaterialResult]:
        started = time.perf_counter()
        async with tc.call("review_diff", model or tc.default_model()) as stats:
            run = await runner(ctx, model)
            if text is not None:
                diff = diff_from_text(text)
            else:
                rules = confinement(roots, config)
                diff = await read_diff(rules, repo, staged=staged, revision=revision, paths=paths or [])
            got = Gathered(documents=diff.files, skipped=diff.skipped)
            if not got.documents:
                what = "staged changes" if staged else f"changes in {revision}" if revision else "uncommitted changes"
                skipped = "; ".join(f"{s.path}: {s.reason}" for s in got.skipped) or "the diff is empty"
                raise MaterialError(f"There are no {what} to review ({skipped}). Nothing was sent to the model.")
            aim = f" Look especially for: {focus}." if focus else ""
            task = Task(
                SYSTEM,
                "Review the diff above as a careful senior engineer: bugs, risky changes, missing error handling "
                f"or tests, unclear code.{aim} For each finding give path:line (new-file line numbers are at the "
                "start of lines), the severity (high/medium/low) and one or two sentences. If it looks fine, say so.",
                "These are reviews of parts of one diff. Merge them into one list of findings ordered by severity, "
                "each with path:line; drop duplicates.",
                answer_tokens=1200,
            )
            budget = run.budget(task)
            material = [p for d in got.documents for p in render(d.path, number_diff(d.text), budget, False)]
            answer = await run.run(task, material)
            return finish(run, got, answer, stats, started)

    async def label_items(
        ctx: Context,
        roots: RootsArg,
        labels: Annotated[
            list[Annotated[str, Field(strict=True, min_length=1, max_length=200)]],
            Field(strict=True, min_length=2, max_length=50, description="The labels to choose from."),
        ],
        instructions: Annotated[
            str | None, Field(strict=True, max_length=4000, description="How to choose a label.")
        ] = None,
        path: Annotated[
            str | None, Field(strict=True, max_length=4096, description="A file whose non-empty lines are the items.")
        ] = None,
        paths: PathsArg = None,
        items: Annotated[
            list[Annotated[str, Field(strict=True, max_length=100_000)]] | None,
            Field(strict=True, max_length=100_000, description="Plain-text items, instead of a file."),
        ] = None,
        parallel: Annotated[
            int | None, Field(strict=True, ge=1, le=16, description="Requests at once (default: the setting).")
        ] = None,
        model: ModelArg = None,
    ) -> Annotated[CallToolResult, MaterialResult]:
        started = time.perf_counter()
        async with tc.call("label_items", model or tc.default_model()) as stats:
            if sum(x is not None for x in (path, paths, items)) != 1:
                raise MaterialError("Pass exactly one of `path` (a line an item), `paths` (a file an item) or `items`.")
            run = await runner(ctx, model)
            if parallel is not None:
                run = Runner(run.client, run.facts, replace(config, parallel=parallel), run.progress,
                             loaded_ctx=run.loaded_ctx)  # fmt: skip
            if items is not None:
                got = Gathered(documents=[Document("(items)", "\n".join(items), sum(len(i.encode()) for i in items))])
                entries = [(f"#{i + 1}", item) for i, item in enumerate(items)]
            else:
                _, got = await gather(roots, [path] if path else paths, None)
                if path:
                    doc = got.documents[0]
                    entries = [(f"{doc.path}:{n}", line) for n, line in enumerate(doc.text.splitlines(), 1)
                               if line.strip()]  # fmt: skip
                else:
                    entries = [(d.path, d.text) for d in got.documents]
            chosen = await label_entries(run, entries, labels, instructions)
            counts = Counter(chosen)
            answer = (
                "Counts: "
                + ", ".join(f"{label}: {counts.get(label, 0)}" for label in labels)
                + "\n"
                + "\n".join(f"{ref}: {label}" for (ref, _), label in zip(entries, chosen, strict=True))
            )
            listed = [{"item": ref, "label": label} for (ref, _), label in zip(entries, chosen, strict=True)]
            return finish(run, got, answer, stats, started, labels=listed)

    async def digest_log(
        ctx: Context,
        roots: RootsArg,
        path: Annotated[
            str | None, Field(strict=True, max_length=4096, description="The saved log (test, build or lint output).")
        ] = None,
        text: TextArg = None,
        focus: Annotated[str | None, Field(strict=True, max_length=2000, description="What matters most.")] = None,
        model: ModelArg = None,
    ) -> Annotated[CallToolResult, MaterialResult]:
        started = time.perf_counter()
        aim = f" Attend especially to: {focus}." if focus else ""
        async with tc.call("digest_log", model or tc.default_model()) as stats:
            run = await runner(ctx, model)
            _, got = await gather(roots, [path] if path else None, text)
            task = Task(
                SYSTEM,
                "The material is the output of a command (tests, a build or a linter). List the failures and errors "
                "that matter, each as: path:line of the log where it shows, what failed (test, file, target), and "
                f"the error in one line. Leave out passing steps, progress and noise.{aim} End with one line: the "
                "overall outcome (counts if the log gives them). If nothing failed, say so.",
                "These are digests of parts of one log. Merge them: each failure once, with its log line numbers, "
                "most important first; end with one line on the overall outcome.",
                answer_tokens=1000,
            )
            answer = await run.run(task, pieces(got, run, task))
            return finish(run, got, answer, stats, started)

    return {
        "ask_files": MaterialTool(
            ask_files,
            "Use this instead of reading files yourself to answer a question about local files, folders or globs "
            "(code, docs, configs): a local Ollama model reads them on this machine and only its answer, citing "
            "path:line, comes back, so the files never enter your context or leave the machine. Large material is "
            "split and map-reduced. Accepts plain `text` too. Check important claims against the cited lines.",
        ),
        "summarize_files": MaterialTool(
            summarize_files,
            "Use this to get a summary of files or a whole folder without reading them: a local model reads them "
            "on this machine (honouring .gitignore, skipping secrets and binaries) and returns only the summary. "
            "Good for orienting in an unfamiliar repository or long documents. Accepts plain `text` too.",
        ),
        "extract_json": MaterialTool(
            extract_json,
            "Use this to pull structured data out of local files or text into JSON that must validate against your "
            "JSON schema (names, settings, endpoints, TODOs, table rows): a local model reads the material here; "
            "the result is validated, retried once, and is an error rather than invalid JSON.",
        ),
        "review_diff": MaterialTool(
            review_diff,
            "Use this for a first review of a git diff (uncommitted changes to tracked files, staged changes, or a "
            "revision range like main..HEAD) without reading it yourself: git runs here, a local model reviews the "
            "hunks and returns findings with path:line and severity. Hunks of secret-shaped files are never sent. "
            "Accepts a diff as `text` too.",
        ),
        "label_items": MaterialTool(
            label_items,
            "Use this to classify many items with a fixed set of labels: the lines of a file (path), many files "
            "(paths, one label each) or plain items, with several local requests at once. Returns each item's "
            "label and the counts; only the labels come back to you.",
        ),
        "digest_log": MaterialTool(
            digest_log,
            "Use this instead of reading long command output saved in a file (test, build or lint logs): a local "
            "model reads the log here and returns only the failures that matter, with their log line numbers, and "
            "the overall outcome. Save the output first (e.g. `pytest > /tmp/test.log 2>&1`).",
        ),
    }


def _footer(result: MaterialResult, skipped: Sequence[Skipped]) -> str:
    where = result.material_went_to
    line = (
        f"Read {result.files_read} file(s), {result.bytes_read} bytes, locally; processed by {result.model} on "
        f"{where} in {result.parts} part(s); about {{kept}} tokens kept out of your context."
    )
    if not skipped:
        return line
    named = "; ".join(f"{s.path} ({s.reason})" for s in skipped[:FOOTER_SKIPS])
    more = f"; +{len(skipped) - FOOTER_SKIPS} more (see `skipped`)" if len(skipped) > FOOTER_SKIPS else ""
    return f"{line}\nSkipped: {named}{more}."
