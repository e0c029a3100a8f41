"""The material tools over real stdio: the registered command, the SDK's client sending its roots, the emulator
logging every request body. Every tool runs on the fixture tree; nothing refused ever reaches the model."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import anyio
import mcp_types
import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters

from tests.emulator.catalog import EmulatedModel
from tests.ollama_emulator import OllamaEmulator
from tests.server.material_tree import SECRETS, make_tree, write
from tests.server.test_stdio import TAP, server_env

pytestmark = pytest.mark.anyio


def text_of(result: Any) -> str:
    return "".join(block.text for block in result.content if block.type == "text")


async def test_every_material_tool_over_stdio_reads_inside_the_roots_and_never_sends_a_refused_file(
    tmp_path: Path, ollama: OllamaEmulator
) -> None:
    tree = make_tree(tmp_path / "work")
    ollama.state.install(EmulatedModel("tiny:latest", context_length=4096, bytes_per_token=4.0))
    ollama.answer_mode = "receipt"
    long_lines = [f"paragraph {n}: the quick brown fox, marker Q{n:05d}." for n in range(1, 1201)]
    write(tree.root / "docs" / "long.md", "# Long\n\n" + "\n".join(long_lines) + "\n")
    write(tree.root / "build.log", "\n".join(["ok"] * 500 + ["src/app.py:2: error: boom"] + ["ok"] * 500) + "\n")
    env = server_env(tmp_path, ollama.url)
    settings = Path(env["XDG_CONFIG_HOME"]) / "ollama-mcp-tray" / "settings.json"
    write(settings, json.dumps({"material_max_file_bytes": 200_000, "material_parallel": 3}))
    record = tmp_path / "stdout.jsonl"
    params = StdioServerParameters(
        command=sys.executable,
        args=[str(TAP), str(record), "--", sys.executable, "-m", "ollama_mcp_tray.server"],
        env=env,
        cwd=str(tree.root),
    )
    messages: list[str] = []

    async def list_roots(context: Any) -> mcp_types.ListRootsResult:
        return mcp_types.ListRootsResult(roots=[mcp_types.Root(uri=tree.root.as_uri(), name="project")])

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")

    schema = {"type": "object", "properties": {"names": {"type": "array", "items": {"type": "string"}}}}
    calls: list[tuple[str, dict[str, Any]]] = [
        ("ollama_summarize_files", {"paths": ["."]}),
        ("ollama_ask_files", {"question": "What does main return?", "paths": ["src/**/*.py", "*.txt"]}),
        ("ollama_extract_json", {"schema": schema, "instructions": "function names", "paths": ["src"]}),
        ("ollama_review_diff", {}),
        ("ollama_label_items", {"labels": ["code", "other"], "paths": ["src", ".env", "image.bin"]}),
        ("ollama_digest_log", {"path": "build.log"}),
        ("ollama_summarize_files", {"paths": ["docs/long.md"], "model": "tiny"}),
    ]
    results: dict[str, Any] = {}
    with anyio.fail_after(120):
        async with Client(params, list_roots_callback=list_roots) as client:
            for index, (name, args) in enumerate(calls):
                result = await client.call_tool(name, args, progress_callback=on_progress)
                assert not result.is_error, (name, text_of(result))
                results[f"{index}:{name}"] = result.structured_content
            outside = await client.call_tool("ollama_ask_files", {"question": "q", "paths": [str(tree.outside)]})
            link = await client.call_tool("ollama_ask_files", {"question": "q", "paths": ["link_out.txt"]})
    assert outside.is_error and str(tree.root) in text_of(outside)
    assert link.is_error and "outside the folders" in text_of(link)

    summary = results["0:ollama_summarize_files"]
    assert {"src/app.py", "src/pkg/deep/leaf.py", "README.md"} <= {f["path"] for f in summary["read"]}
    reasons = {s["path"]: s["reason"] for s in summary["skipped"]}
    assert {".env", "keys/id_rsa", ".npmrc", "image.bin", "huge.txt", "build/", "notes.tmp", "link_out.txt"} <= set(
        reasons
    )
    asked = results["1:ollama_ask_files"]
    assert {"path": "link_out.txt", "reason": "refused: symlink pointing outside the allowed folders"} in asked[
        "skipped"
    ]
    assert isinstance(results["2:ollama_extract_json"]["data"]["names"], list)
    assert [f["path"] for f in results["3:ollama_review_diff"]["read"]] == ["src/app.py"]
    labelled = {x["item"] for x in results["4:ollama_label_items"]["labels"]}
    assert labelled == {"src/app.py", "src/pkg/util.py", "src/pkg/deep/leaf.py"}
    assert results["5:ollama_digest_log"]["files_read"] == 1
    long = results["6:ollama_summarize_files"]
    assert long["parts"] > 2 and long["material_went_to"] == "this machine"
    assert any(m.startswith("part ") and "docs/long.md (lines" in m for m in messages)

    bodies = [r for r in ollama.requests if r.path == "/api/chat"]
    sent = "".join(m["content"] for r in bodies for m in r.body["messages"])
    assert all(f"Q{n:05d}" in sent for n in range(1, 1201)), "every part of the long file reached the model"
    assert "501: src/app.py:2: error: boom" in sent
    for request in ollama.requests:
        for secret in SECRETS:
            assert secret not in request.raw, (secret, request.path)
    for line in record.read_bytes().splitlines():
        assert json.loads(line).get("jsonrpc") == "2.0"
