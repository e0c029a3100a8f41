"""Benchmark the material tools on a tree no one here wrote: the installed `mcp` package's own source (~1.2 MB).

    .venv/bin/python bench/bench_material.py [--reps 3] [--token-delay 0.005] [--prompt-delay 0.00005]
                                             [--slots 4] [--parallel 4] [--response-tokens 100]

Against the emulator (on loopback, in this process) with a per-token delay for generation and for prompt
evaluation, and `--slots` parallel generation slots (like OLLAMA_NUM_PARALLEL), three tasks:
  * "summarise this folder"          ollama_summarize_files on the mcp package folder;
  * "answer a question over 20 files" ollama_ask_files on 20 of its modules;
  * "digest a 10,000-line test log"   ollama_digest_log on a generated pytest log with a few failures.
For each it prints the bytes and estimated tokens read locally, what the model counted (prompt_eval_count), the
tokens returned to Claude (text and structured content, 4 bytes a token), the kept-out ratio (read / returned),
the wall time with bounded parallelism against one request at a time (the baseline, in the same run), and our
own overhead per request: the tool call against an emulator with no delays, minus the same chat requests sent
straight to that emulator with the same parallelism, divided by the requests (reading, confining, splitting,
MCP and our client included). Medians over `--reps` repetitions.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import mcp  # noqa: E402
import mcp_types  # noqa: E402
from mcp.client import Client  # noqa: E402

from ollama_mcp_tray.server.app import build_server  # noqa: E402
from ollama_mcp_tray.server.config import MaterialConfig, ServerConfig, Timeouts  # noqa: E402
from ollama_mcp_tray.server.ollama_client import OllamaClient  # noqa: E402
from tests.emulator.catalog import EmulatedModel  # noqa: E402
from tests.ollama_emulator import OllamaEmulator  # noqa: E402

MODEL = "bench-coder:7b"


def make_log(path: Path, lines: int = 10_000) -> None:
    out = ["============================= test session starts ==============================", "collected 9990 items"]
    failures = {1234: "AssertionError: assert 3 == 4", 5678: "KeyError: 'user_id'", 9012: "TimeoutError: 5 s"}
    n = 0
    while len(out) < lines - 2:
        n += 1
        if n in failures:
            out.append(f"tests/test_mod{n % 37}.py::test_case_{n} FAILED")
            out.append(f"E   {failures[n]}")
        else:
            out.append(f"tests/test_mod{n % 37}.py::test_case_{n} PASSED [{n % 100:3d}%]")
    out.append(f"=========== {len(failures)} failed, {n - len(failures)} passed in 812.31s ===========")
    path.write_text("\n".join(out[:lines]) + "\n", encoding="utf-8")


async def call(emulator: OllamaEmulator, root: Path, parallel: int, tool: str, args: dict[str, Any]) -> dict[str, Any]:
    config = ServerConfig(
        base_url=emulator.url,
        default_model=MODEL,
        timeouts=Timeouts(connect=5.0, idle=300.0),
        material=MaterialConfig(parallel=parallel),
    )
    server = build_server(config, None, refresh_models=False)

    async def roots(context: Any) -> mcp_types.ListRootsResult:
        return mcp_types.ListRootsResult(roots=[mcp_types.Root(uri=root.as_uri(), name="root")])

    async with Client(server, list_roots_callback=roots) as client:
        started = time.perf_counter()
        result = await client.call_tool(tool, args)
        wall = time.perf_counter() - started
    if result.is_error:
        raise SystemExit(f"{tool} failed: {result.content}")
    data = dict(result.structured_content or {})
    data["wall_s"] = wall
    return data


async def replay(emulator: OllamaEmulator, parallel: int) -> float:
    """The floor: the chat requests the tool sent, sent again straight to the emulator, `parallel` at a time."""
    bodies = [r.body for r in emulator.requests if r.path == "/api/chat"]
    client = OllamaClient(ServerConfig(base_url=emulator.url, timeouts=Timeouts(connect=5.0, idle=300.0)))
    slots = anyio.Semaphore(parallel)

    async def one(body: dict[str, Any]) -> None:
        async with slots:
            async for _ in client.stream("/api/chat", body, model=MODEL):
                pass

    started = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for body in bodies:
            tg.start_soon(one, body)
    wall = time.perf_counter() - started
    await client.aclose()
    return wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--token-delay", type=float, default=0.005, help="seconds per generated token")
    parser.add_argument("--prompt-delay", type=float, default=0.00005, help="seconds per prompt token")
    parser.add_argument("--slots", type=int, default=4, help="generations the emulator runs at once")
    parser.add_argument("--parallel", type=int, default=4, help="requests our server sends at once")
    parser.add_argument("--response-tokens", type=int, default=100)
    opts = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)

    tree = Path(mcp.__file__).resolve().parent
    modules = sorted(tree.rglob("*.py"), key=lambda p: (p.stat().st_size, str(p)))
    twenty = [str(p) for p in modules[len(modules) // 2 : len(modules) // 2 + 20]]
    scratch = Path(tempfile.mkdtemp(prefix="bench-material-"))
    log = scratch / "test.log"
    make_log(log)
    tasks = [
        ("summarise this folder", tree, "ollama_summarize_files", {"paths": [str(tree)]}),
        ("answer a question over 20 files", tree, "ollama_ask_files",
         {"question": "Which of these modules handle errors, and how?", "paths": twenty}),
        ("digest a 10,000-line test log", scratch, "ollama_digest_log", {"path": str(log)}),
    ]  # fmt: skip
    model = EmulatedModel(MODEL, "qwen2", "7.6B", context_length=32_768, bytes_per_token=4.0)

    def emulator(delays: bool) -> OllamaEmulator:
        emu = OllamaEmulator([model], token_delay=opts.token_delay if delays else 0.0,
                             response_tokens=opts.response_tokens, record=not delays)  # fmt: skip
        emu.prompt_delay = opts.prompt_delay if delays else 0.0
        emu.slots = opts.slots
        return emu

    print(f"tree: {tree} ({sum(p.stat().st_size for p in tree.rglob('*.py'))} bytes of .py)")
    print(f"emulator: {opts.token_delay * 1000:g} ms/token generated, {opts.prompt_delay * 1e6:g} us/prompt token, "
          f"{opts.slots} slots, {opts.response_tokens} tokens an answer; our parallel={opts.parallel}; "
          f"medians of {opts.reps}")  # fmt: skip
    for title, root, tool, args in tasks:
        runs: dict[str, list[dict[str, Any]]] = {"parallel": [], "serial": [], "instant": []}
        overheads: list[float] = []
        for _ in range(opts.reps):
            with emulator(True) as emu:
                runs["parallel"].append(anyio.run(call, emu, root, opts.parallel, tool, args))
                runs["serial"].append(anyio.run(call, emu, root, 1, tool, args))
            with emulator(False) as emu:
                instant = anyio.run(call, emu, root, opts.parallel, tool, args)
                floor = anyio.run(replay, emu, opts.parallel)
                overheads.append((instant["wall_s"] - floor) / max(1, instant["requests"]) * 1000)
                runs["instant"].append(instant)
        first = runs["parallel"][0]

        overhead_ms = statistics.median(overheads)
        print(f"\n{title} ({tool})")
        print(f"  read locally:     {first['files_read']} files, {first['bytes_read']} bytes, ~{first['tokens_read']} "
              f"tokens; skipped {len(first['skipped'])}")  # fmt: skip
        print(f"  model counted:    {first['prompt_eval_count']} prompt tokens over {first['requests']} requests "
              f"({first['parts']} parts)")  # fmt: skip
        print(f"  returned:         ~{first['tokens_returned']} tokens to Claude")
        print(f"  kept out:         ~{first['kept_out_tokens']} tokens; ratio read/returned "
              f"{first['tokens_read'] / max(1, first['tokens_returned']):.1f}x")  # fmt: skip
        par = statistics.median(r["wall_s"] for r in runs["parallel"])
        ser = statistics.median(r["wall_s"] for r in runs["serial"])
        print(f"  wall time:        {par:.2f} s with parallel={opts.parallel}, {ser:.2f} s one at a time "
              f"({ser / par:.2f}x)")  # fmt: skip
        print(f"  our overhead:     {overhead_ms:.1f} ms per request (the tool with an instant emulator, over the "
              "same requests sent straight to it)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
