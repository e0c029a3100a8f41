"""The material tools through the SDK's in-memory client (which sends roots), against the emulator on loopback."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import mcp_types
import pytest
from mcp.client import Client

from ollama_mcp_tray.server.app import build_server
from ollama_mcp_tray.server.config import MaterialConfig, ServerConfig, Timeouts
from ollama_mcp_tray.server.paths import AppPaths
from ollama_mcp_tray.server.usage import read_usage, summarize
from tests.emulator.catalog import EmulatedModel, cloud_model
from tests.ollama_emulator import OllamaEmulator
from tests.server.material_tree import SECRETS, Tree, make_tree, write

pytestmark = pytest.mark.anyio

CODER = "qwen2.5-coder:3b"
Connect = Callable[..., AbstractAsyncContextManager[Client]]


@pytest.fixture
def tree(tmp_path: Path) -> Tree:
    return make_tree(tmp_path)


@pytest.fixture
def material(ollama: OllamaEmulator, app_paths: AppPaths, tree: Tree) -> Connect:
    """`async with material(roots=[...], **MaterialConfig fields) as client`: roots default to the tree's root."""

    @asynccontextmanager
    async def factory(roots: list[Path] | None = None, mode: str = "auto", **fields: Any) -> AsyncIterator[Client]:
        fields.setdefault("max_file_bytes", 200_000)
        config = ServerConfig(
            base_url=fields.pop("base_url", ollama.url),
            default_model=CODER,
            timeouts=fields.pop("timeouts", Timeouts(connect=2.0, idle=20.0)),
            material=MaterialConfig(**fields),
        )
        server = build_server(config, app_paths, refresh_models=False)
        shown = [tree.root] if roots is None else roots

        async def list_roots(context: Any) -> mcp_types.ListRootsResult:
            return mcp_types.ListRootsResult(roots=[mcp_types.Root(uri=p.as_uri(), name=p.name) for p in shown])

        async with Client(server, list_roots_callback=list_roots, mode=mode) as client:
            yield client

    return factory


def text_of(result: Any) -> str:
    return "".join(block.text for block in result.content if block.type == "text")


def model_inputs(ollama: OllamaEmulator) -> list[str]:
    """The user messages of every chat request the emulator received."""
    return [m["content"] for r in ollama.requests if r.path == "/api/chat" for m in r.body["messages"]]


def assert_no_secret_sent(ollama: OllamaEmulator) -> None:
    for request in ollama.requests:
        for secret in SECRETS:
            assert secret not in request.raw, (secret, request.path)


async def test_a_folder_summary_reads_the_tree_and_skips_what_is_refused_with_reasons(material, ollama, tree):
    async with material() as client:
        result = await client.call_tool("ollama_summarize_files", {"paths": ["."]})
    assert not result.is_error, text_of(result)
    data = result.structured_content
    read = {f["path"] for f in data["read"]}
    assert {"README.md", "src/app.py", "src/pkg/util.py", "src/pkg/deep/leaf.py", ".gitignore"} <= read
    assert "link_in.txt" not in read  # a link inside the root to a file already read: read once
    skipped = {s["path"]: s["reason"] for s in data["skipped"]}
    assert "environment file" in skipped[".env"]
    assert "SSH key" in skipped["keys/id_rsa"]
    assert "token" in skipped[".npmrc"]
    assert skipped["image.bin"] == "refused: binary file"
    assert "cap per file" in skipped["huge.txt"]
    assert skipped["build/"] == "ignored by .gitignore" and skipped["notes.tmp"] == "ignored by .gitignore"
    assert "outside the allowed folders" in skipped["link_out.txt"]
    assert skipped[".git/"] == "refused: git internals"
    assert data["material_went_to"] == "this machine"
    assert data["files_read"] == len(read) and data["bytes_read"] == sum(f["bytes"] for f in data["read"])
    assert data["kept_out_tokens"] == max(0, data["tokens_read"] - data["tokens_returned"])
    assert "Skipped:" in text_of(result) and "this machine" in text_of(result)
    chat = [r for r in ollama.requests if r.path == "/api/chat"]
    assert chat and all(r.body["truncate"] is False and r.body["think"] is False for r in chat)
    assert all(r.body["options"]["num_ctx"] >= 4096 for r in chat)
    assert_no_secret_sent(ollama)


async def test_a_path_outside_the_roots_is_an_error_naming_the_allowed_folders(material, ollama, tree):
    async with material() as client:
        result = await client.call_tool("ollama_ask_files", {"question": "what?", "paths": [str(tree.outside)]})
        escape = await client.call_tool("ollama_ask_files", {"question": "what?", "paths": ["../elsewhere/secret.txt"]})
    assert result.is_error and str(tree.root) in text_of(result) and "allowed_folders" in text_of(result)
    assert escape.is_error and "outside the folders" in text_of(escape)
    assert not [r for r in ollama.requests if r.path == "/api/chat"]


async def test_a_folder_the_user_allowed_is_readable_without_roots(material, ollama, tree):
    async with material(roots=[], allowed_folders=(str(tree.outside),)) as client:
        result = await client.call_tool("ollama_ask_files", {"question": "q", "paths": [str(tree.outside)]})
        denied = await client.call_tool("ollama_ask_files", {"question": "q", "paths": [str(tree.root)]})
    assert not result.is_error and result.structured_content["read"] == [{"path": "secret.txt", "bytes": 18}]
    assert denied.is_error and str(tree.outside) in text_of(denied)


async def test_no_roots_and_no_allowed_folders_refuses_paths_but_plain_text_works(material, ollama):
    async with material(roots=[]) as client:
        refused = await client.call_tool("ollama_summarize_files", {"paths": ["."]})
        plain = await client.call_tool("ollama_summarize_files", {"text": "Some pasted notes about a plan."})
    assert refused.is_error and "allowed_folders" in text_of(refused)
    assert not plain.is_error and plain.structured_content["files_read"] == 0
    # Text Claude passed in was in its context already: nothing is counted as kept out.
    assert plain.structured_content["bytes_read"] == plain.structured_content["kept_out_tokens"] == 0
    assert "Some pasted notes" in "".join(model_inputs(ollama))


async def test_material_allow_lifts_the_deny_list_for_matching_paths(material, ollama, tree):
    async with material(allow_patterns=(".env",)) as client:
        result = await client.call_tool("ollama_ask_files", {"question": "which key?", "paths": [".env"]})
    assert not result.is_error and result.structured_content["read"][0]["path"] == ".env"
    assert any(b"hunter2-env-secret" in r.raw for r in ollama.requests)


async def test_globs_honour_gitignore_and_name_what_they_skip(material, ollama, tree):
    async with material() as client:
        result = await client.call_tool("ollama_ask_files", {"question": "q", "paths": ["**/*.py"]})
    data = result.structured_content
    assert {f["path"] for f in data["read"]} == {"src/app.py", "src/pkg/util.py", "src/pkg/deep/leaf.py"}
    assert {"path": "build/out.py", "reason": "ignored by .gitignore"} in data["skipped"]
    assert_no_secret_sent(ollama)


async def test_the_question_gets_numbered_lines_so_the_answer_can_cite_path_line(material, ollama, tree):
    async with material() as client:
        result = await client.call_tool("ollama_ask_files", {"question": "What does main return?", "paths": ["src"]})
    assert not result.is_error
    sent = "".join(model_inputs(ollama))
    assert "=== app.py ===" not in sent and "=== src/app.py ===\n1: def main():\n2:     return 'app v2'" in sent
    assert "path:line" in sent and "What does main return?" in sent


async def test_only_denied_files_is_an_honest_error_and_nothing_is_sent(material, ollama, tree):
    async with material() as client:
        result = await client.call_tool("ollama_ask_files", {"question": "q", "paths": [".env", "image.bin"]})
    assert result.is_error and "Nothing readable" in text_of(result) and "yourself" in text_of(result)
    assert not [r for r in ollama.requests if r.path == "/api/chat"]


async def test_a_file_larger_than_the_context_is_split_and_every_part_reaches_the_model(material, ollama, tree):
    ollama.state.install(EmulatedModel("tiny:latest", context_length=4096, bytes_per_token=4.0))
    ollama.answer_mode = "receipt"
    lines = [f"line {n} of the long file, with a unique marker M{n:05d}." for n in range(1, 1501)]
    write(tree.root / "long.txt", "\n".join(lines) + "\n")
    progress: list[str] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(message or "")

    async with material() as client:
        result = await client.call_tool(
            "ollama_summarize_files", {"paths": ["long.txt"], "model": "tiny"}, progress_callback=on_progress
        )
    assert not result.is_error, text_of(result)
    data = result.structured_content
    assert data["parts"] > 3 and data["requests"] == data["parts"] + 1  # the map requests and one reduce
    sent = "".join(model_inputs(ollama))
    assert all(f"M{n:05d}" in sent for n in range(1, 1501))
    assert any(m.startswith("part 1/") and "long.txt (lines 1-" in m for m in progress)
    assert "combining the parts" in progress
    requests = [r for r in ollama.requests if r.path == "/api/chat"]
    assert all(r.body["options"]["num_ctx"] == 4096 for r in requests)
    assert "long.txt (lines" in data["answer"]  # the reduce step received every part's receipt


async def test_when_ollama_refuses_a_part_as_too_long_it_is_split_smaller_and_retried(material, ollama, tree):
    # This tokenizer counts twice the tokens our estimate assumes: the first requests do not fit.
    ollama.state.install(EmulatedModel("dense:latest", context_length=4096, bytes_per_token=1.5))
    write(tree.root / "dense.txt", "\n".join(f"dense line {n:04d} " + "z" * 40 for n in range(400)) + "\n")
    async with material() as client:
        result = await client.call_tool("ollama_ask_files", {"question": "q", "paths": ["dense.txt"], "model": "dense"})
    assert not result.is_error, text_of(result)
    statuses = [r for r in ollama.requests if r.path == "/api/chat"]
    assert len(statuses) > result.structured_content["parts"] >= 2
    sent = "".join(model_inputs(ollama))
    assert all(f"dense line {n:04d}" in sent for n in range(400))


async def test_a_cloud_model_is_refused_for_material_unless_the_user_allows_it(material, ollama, tree):
    ollama.state.install(cloud_model())
    args = {"question": "q", "paths": ["README.md"], "model": "gpt-oss:120b-cloud"}
    async with material() as client:
        refused = await client.call_tool("ollama_ask_files", args)
    assert refused.is_error and "cloud model" in text_of(refused) and "allow_cloud_models" in text_of(refused)
    assert not [r for r in ollama.requests if r.path == "/api/chat"]
    async with material(allow_cloud_models=True) as client:
        allowed = await client.call_tool("ollama_ask_files", args)
    assert not allowed.is_error and allowed.structured_content["material_went_to"] == "ollama.com (cloud model)"


async def test_a_remote_ollama_is_named_as_where_the_material_went(material, ollama, tree):
    async with material(base_url=ollama.url.replace("127.0.0.1", "localhost")) as client:
        local = await client.call_tool("ollama_ask_files", {"question": "q", "paths": ["README.md"]})
    assert local.structured_content["material_went_to"] == "this machine"


async def test_extraction_returns_json_valid_against_the_schema(material, ollama, tree):
    schema = {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}
    async with material() as client:
        result = await client.call_tool(
            "ollama_extract_json", {"schema": schema, "instructions": "the title", "paths": ["README.md"]}
        )
    assert not result.is_error, text_of(result)
    assert isinstance(result.structured_content["data"]["title"], str)
    assert [r.body["format"] for r in ollama.requests if r.path == "/api/chat"] == [schema]


async def test_extraction_that_never_validates_is_retried_once_then_an_error(material, ollama, tree):
    # The emulator answers 1 for integers: a minimum of 5 cannot be met.
    schema = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 5}}, "required": ["n"]}
    async with material() as client:
        result = await client.call_tool("ollama_extract_json", {"schema": schema, "instructions": "n", "text": "n=7"})
        bad_schema = await client.call_tool(
            "ollama_extract_json", {"schema": {"type": "nope"}, "instructions": "n", "text": "n=7"}
        )
    assert result.is_error and "did not validate" in text_of(result) and "yourself" in text_of(result)
    assert len([r for r in ollama.requests if r.path == "/api/chat"]) == 2
    assert bad_schema.is_error and "not a valid JSON schema" in text_of(bad_schema)


async def test_the_diff_review_sends_the_changes_but_never_a_secret_files_hunks(material, ollama, tree):
    async with material() as client:
        working = await client.call_tool("ollama_review_diff", {})
        staged = await client.call_tool("ollama_review_diff", {"staged": True})
        ranged = await client.call_tool("ollama_review_diff", {"revision": "HEAD"})
        bad = await client.call_tool("ollama_review_diff", {"revision": "--output=/tmp/x"})
    assert not working.is_error, text_of(working)
    assert [f["path"] for f in working.structured_content["read"]] == ["src/app.py"]
    assert {"path": ".env", "reason": "refused: environment file (often holds secrets)"} in working.structured_content[
        "skipped"
    ]
    assert [f["path"] for f in staged.structured_content["read"]] == ["src/pkg/util.py"]
    assert {f["path"] for f in ranged.structured_content["read"]} == {"src/app.py", "src/pkg/util.py"}
    assert bad.is_error and "not a revision" in text_of(bad)
    async with material() as client:
        pasted = await client.call_tool(
            "ollama_review_diff", {"text": "diff --git a/x.py b/x.py\n@@ -1 +1 @@\n-a\n+b\n"}
        )
    assert [f["path"] for f in pasted.structured_content["read"]] == ["(text) x.py"]
    assert pasted.structured_content["files_read"] == 0
    sent = "".join(model_inputs(ollama))
    assert "2: +    return 'app v2'  # changed" in sent
    assert_no_secret_sent(ollama)


async def test_labelling_the_lines_of_a_file_runs_bounded_parallel_batches(material, ollama, tree):
    ollama.token_delay = 0.002
    write(tree.root / "tickets.txt", "\n".join(f"ticket {n}: something happened" for n in range(1, 121)) + "\n")
    async with material(parallel=2) as client:
        result = await client.call_tool("ollama_label_items", {"labels": ["bug", "feature"], "path": "tickets.txt"})
        many = await client.call_tool("ollama_label_items", {"labels": ["code", "docs"], "paths": ["src", "README.md"]})
        items = await client.call_tool("ollama_label_items", {"labels": ["a", "b"], "items": ["x", "y", "z"]})
    assert not result.is_error, text_of(result)
    labels = result.structured_content["labels"]
    assert len(labels) == 120 and labels[0] == {"item": "tickets.txt:1", "label": "bug"}
    assert result.structured_content["requests"] == 3 and ollama.state.peak_active == 2
    assert "bug: 120" in text_of(result)
    assert {x["item"] for x in many.structured_content["labels"]} == {
        "src/app.py", "src/pkg/util.py", "src/pkg/deep/leaf.py", "README.md",
    }  # fmt: skip
    assert [x["item"] for x in items.structured_content["labels"]] == ["#1", "#2", "#3"]


async def test_a_long_log_is_digested_in_parts_with_its_line_numbers_sent(material, ollama, tree):
    lines = [f"tests/test_x.py::test_{n} PASSED" for n in range(10_000)]
    lines[4321] = "tests/test_x.py::test_4321 FAILED - AssertionError: expected 3, got 4"
    write(tree.root / "test.log", "\n".join(lines) + "\n")
    async with material(max_file_bytes=2_000_000) as client:
        result = await client.call_tool("ollama_digest_log", {"path": "test.log"})
    assert not result.is_error, text_of(result)
    assert result.structured_content["parts"] > 1
    assert "4322: tests/test_x.py::test_4321 FAILED" in "".join(model_inputs(ollama))


async def test_each_call_records_what_was_read_and_kept_out_and_the_day_sums_it(material, ollama, tree, app_paths):
    async with material() as client:
        one = await client.call_tool("ollama_summarize_files", {"paths": ["src"]})
        two = await client.call_tool("ollama_ask_files", {"question": "q", "paths": ["README.md"]})
    records = [r for r in read_usage(app_paths.usage_file) if r.tool in ("summarize_files", "ask_files")]
    assert [r.files_read for r in records] == [3, 1]
    assert [r.bytes_read for r in records] == [
        one.structured_content["bytes_read"],
        two.structured_content["bytes_read"],
    ]
    assert records[0].prompt_tokens == one.structured_content["prompt_eval_count"] > 0
    expected = one.structured_content["kept_out_tokens"] + two.structured_content["kept_out_tokens"]
    assert summarize(records, 0).kept_out_tokens == expected


async def test_thinking_is_turned_off_and_never_in_the_answer(material, ollama, tree):
    async with material() as client:
        result = await client.call_tool(
            "ollama_ask_files", {"question": "q", "paths": ["README.md"], "model": "qwen3:4b"}
        )
    assert not result.is_error
    assert "Let me think" not in text_of(result)
    assert [r.body["think"] for r in ollama.requests if r.path == "/api/chat"] == [False]


async def test_wrong_argument_types_are_refused_before_anything_is_read(material, ollama, tree):
    async with material() as client:
        result = await client.call_tool("ollama_label_items", {"labels": ["a", "b"], "items": ["x"], "parallel": True})
        paths = await client.call_tool("ollama_ask_files", {"question": "q", "paths": "src"})
    assert result.is_error and paths.is_error
    assert not [r for r in ollama.requests if r.path == "/api/chat"]


async def test_the_material_tools_are_listed_with_when_to_use_them_first(material):
    async with material() as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    for name in ("ask_files", "summarize_files", "extract_json", "review_diff", "label_items", "digest_log"):
        tool = tools[f"ollama_{name}"]
        assert (tool.description or "").startswith("Use this"), name
        assert tool.output_schema is not None and tool.annotations.read_only_hint is True


async def test_json_of_the_result_is_the_structured_content(material, ollama, tree):
    async with material() as client:
        with anyio.fail_after(30):
            result = await client.call_tool("ollama_ask_files", {"question": "q", "text": "plain"})
    assert json.loads(json.dumps(result.structured_content))["model"] == CODER


async def test_a_part_queued_in_ollama_longer_than_the_idle_timeout_still_gets_its_turn(material, ollama, tree):
    # One generation at a time in Ollama (its default), two parts sent at once, each taking longer than the
    # configured idle timeout: the second waits in Ollama's queue without a byte, which is not a stall.
    ollama.state.install(EmulatedModel("tiny:latest", context_length=4096, bytes_per_token=4.0))
    ollama.slots = 1
    ollama.token_delay = 0.1
    write(tree.root / "two.txt", "\n".join(f"line {n} " + "w" * 60 for n in range(250)) + "\n")
    async with material(parallel=2, timeouts=Timeouts(connect=2.0, idle=0.6)) as client:
        result = await client.call_tool("ollama_summarize_files", {"paths": ["two.txt"], "model": "tiny"})
    assert not result.is_error, text_of(result)
    assert result.structured_content["parts"] >= 2 and ollama.state.peak_active == 1


async def test_a_think_block_inside_the_content_is_stripped_from_the_answer(material, ollama, tree):
    ollama.response_tokens = 6  # the echo: "=== (text) === 1: <think>hidden</think> visible"
    async with material() as client:
        result = await client.call_tool("ollama_ask_files", {"question": "q", "text": "<think>hidden</think> visible"})
    assert not result.is_error
    assert "hidden" not in result.structured_content["answer"] and "visible" in result.structured_content["answer"]
    assert "hidden" in "".join(model_inputs(ollama))


async def test_a_model_already_loaded_with_enough_context_is_not_made_to_reload(material, ollama, tree):
    ollama.state.install(EmulatedModel("tiny:latest", context_length=65_536, bytes_per_token=4.0))
    warm = {"model": "tiny", "messages": [], "options": {"num_ctx": 12_288}}
    async with material() as client:
        cold = await client.call_tool("ollama_ask_files", {"question": "q", "text": "short", "model": "tiny"})
        httpx2.post(f"{ollama.url}/api/chat", json=warm)  # the user's own call loads it with 12288
        hot = await client.call_tool("ollama_ask_files", {"question": "q", "text": "short", "model": "tiny"})
    assert not cold.is_error and not hot.is_error
    sizes = [r.body["options"]["num_ctx"] for r in ollama.requests if r.path == "/api/chat" and r.body["messages"]]
    assert sizes == [4096, 12_288]


async def test_roots_arrive_on_the_older_protocol_too_as_a_request_mid_call(material, ollama, tree):
    # Clients on protocol revisions before 2026-07-28 get roots/list as a server-to-client request.
    async with material(mode="legacy") as client:
        result = await client.call_tool("ollama_ask_files", {"question": "q", "paths": ["README.md"]})
    assert not result.is_error, text_of(result)
    assert result.structured_content["read"] == [{"path": "README.md", "bytes": 45}]
