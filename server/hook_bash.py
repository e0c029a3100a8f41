"""Claude Code `PostToolUse` hook on Bash: a very long output reaches Claude as a local model's digest of it.

    python -I -m ollama_mcp_tray.server.hook_bash      (Claude Code passes the hook's JSON on stdin)

Below LONG_LINES lines (and LONG_BYTES bytes) it says nothing and exits at once: only the standard library is
imported on that path, so the cost is the interpreter's start. A long output is digested by the default model
through the server's own Ollama client, and the hook answers `updatedToolOutput` with the digest and the path
of the whole output, so Claude can still open it.

What Claude Code 2.1.330 does (observed in tests/test_claude_kit.py): the hook's `tool_response` is the Bash
output object (`stdout`, `stderr`, `interrupted`, `isImage`, ...) with `stdout` cut at 30,000 characters;
when the output was too large for the model, Claude Code has already saved all of it and names the file in
`persistedOutputPath` (the hook reads the whole output there, and that file is the one Claude is pointed to).
Otherwise the hook saves the output itself, in a private file (0600) of the app's data folder.
`updatedToolOutput` must keep that object's shape: a plain string is ignored for Bash. Claude Code 2.1.120 and
older run the hook but ignore `updatedToolOutput` for Bash (tray/kit_actions.py warns; 2.1.121 is the first that
applies it).

Ollama down, no default model, a slow answer, anything else: silence (exit 0), so Claude gets the output as it
would have without us.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path
from typing import Any

LONG_LINES = 400  # shorter output goes through untouched
LONG_BYTES = 100_000
KEEP_CHARS = 48_000  # of the output, sent to the model: failure lines with their neighbours, then the tail
DIGEST_TIMEOUT_S = 90.0  # the whole digest; the hook's own timeout in settings.json is longer
CONNECT_TIMEOUT_S = 1.0  # a local Ollama answers at once or is not there
FAILURE = re.compile(r"error|fail|exception|traceback|assert|panic|fatal|denied|not found|warning", re.IGNORECASE)
SYSTEM = (
    "You digest the output of a shell command for an engineer. Lines are numbered 'N: text'. List the failures "
    "and errors that matter, each with its line number and one line on what failed. Leave out progress and "
    "passing steps. End with one line: the overall outcome (counts if the output gives them). Be brief."
)


def output_text(response: Any) -> str:
    """The text of a Bash tool response (stdout, then stderr), whatever shape it comes in."""
    if isinstance(response, str):
        return response
    if isinstance(response, dict):
        parts = [response.get("stdout"), response.get("stderr"), response.get("output")]
        return "\n".join(p for p in parts if isinstance(p, str) and p)
    return ""


MAX_READ_BYTES = 50_000_000  # of a persisted output; more is left out of the digest (the file keeps it)


def whole_output(response: Any) -> tuple[str, Path | None]:
    """All of the output, and the file Claude Code saved it in (None: it saved none)."""
    saved = response.get("persistedOutputPath") if isinstance(response, dict) else None
    if isinstance(saved, str) and saved:
        path = Path(saved)
        try:
            with path.open("rb") as handle:
                return handle.read(MAX_READ_BYTES).decode("utf-8", errors="replace"), path
        except OSError:
            pass
    return output_text(response), None


def is_long(text: str) -> bool:
    return text.count("\n") + 1 >= LONG_LINES or len(text) >= LONG_BYTES


def excerpt(lines: list[str]) -> str:
    """Numbered lines to send: each failure-looking line with two neighbours, then the tail, within KEEP_CHARS."""
    chosen: set[int] = set()
    for n, line in enumerate(lines):
        if FAILURE.search(line):
            chosen.update(range(max(0, n - 2), min(len(lines), n + 3)))
    chosen.update(range(max(0, len(lines) - 60), len(lines)))
    picked: list[str] = []
    size = 0
    for n in sorted(chosen):
        text = f"{n + 1}: {lines[n][:500]}"
        size += len(text) + 1
        if size > KEEP_CHARS:
            picked.append("... (more lines in the saved file)")
            break
        picked.append(text)
    return "\n".join(picked)


def save_output(text: str, event: dict[str, Any]) -> Path:
    """The whole output in a private file of the app's data folder."""
    from .paths import AppPaths, open_private

    folder = AppPaths.default().data_dir / "bash-output"
    session = re.sub(r"[^\w-]", "", str(event.get("session_id") or "session"))[:40] or "session"
    path = folder / f"{time.strftime('%Y%m%d-%H%M%S')}-{session}-{time.monotonic_ns() % 10**9}.log"
    import os

    fd = open_private(path, os.O_WRONLY | os.O_TRUNC)
    with os.fdopen(fd, "w", encoding="utf-8", errors="replace") as handle:
        handle.write(text)
    return path


async def digest(command: str, lines: list[str]) -> str | None:
    """The default model's digest of the output, or None when it cannot be had."""
    import anyio

    from .config import Timeouts, resolve_config
    from .errors import OllamaMcpError
    from .ollama_client import OllamaClient

    config = resolve_config()
    if not config.default_model:
        return None
    config = _with_timeouts(config, Timeouts(connect=CONNECT_TIMEOUT_S, idle=DIGEST_TIMEOUT_S))
    client = OllamaClient(config)
    prompt = f"Command: {command[:2000]}\nOutput ({len(lines)} lines; excerpt):\n{excerpt(lines)}"
    body = {
        "model": config.default_model,
        "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}],
        "options": {"num_ctx": 16384, "num_predict": 800, "temperature": 0},
    }
    parts: list[str] = []
    try:
        with anyio.fail_after(DIGEST_TIMEOUT_S):
            async for chunk in client.stream("/api/chat", body, model=config.default_model):
                message = chunk.get("message")
                if isinstance(message, dict) and isinstance(message.get("content"), str):
                    parts.append(message["content"])
    except (OllamaMcpError, TimeoutError, OSError):
        return None
    finally:
        await client.aclose()
    text = re.sub(r"<think>.*?</think>", "", "".join(parts), flags=re.DOTALL).strip()
    return f"{text}\n\n[digested by {config.default_model}]" if text else None


def _with_timeouts(config: Any, timeouts: Any) -> Any:
    from dataclasses import replace

    return replace(config, timeouts=timeouts)


def answer(event: dict[str, Any]) -> str | None:
    """The hook's stdout for this event, or None to stay silent."""
    if event.get("tool_name") != "Bash":
        return None
    response = event.get("tool_response")
    if not isinstance(response, dict):
        return None
    size = response.get("persistedOutputSize")
    if not (isinstance(size, int) and size > 0) and not is_long(output_text(response)):
        return None
    import anyio

    text, saved = whole_output(response)
    lines = text.splitlines()
    tool_input = event.get("tool_input")
    command = str(tool_input.get("command", "")) if isinstance(tool_input, dict) else ""
    summary = anyio.run(digest, command, lines)
    if summary is None:
        return None
    saved = saved or save_output(text, event)
    digest_text = (
        f"[Output of {len(lines)} lines ({len(text)} characters) digested by the local model; the full output "
        f"is in {saved} - read it for details.]\n\n{summary}"
    )
    kept = {k: v for k, v in response.items() if k not in ("persistedOutputPath", "persistedOutputSize")}
    output = {"hookEventName": "PostToolUse", "updatedToolOutput": {**kept, "stdout": digest_text, "stderr": ""}}
    return json.dumps({"hookSpecificOutput": output})


def main() -> int:
    try:
        event = json.loads(sys.stdin.read() or "{}")
        said = answer(event) if isinstance(event, dict) else None
    except Exception:  # noqa: BLE001 - the raw output is always a fine answer; never block Claude
        return 0
    if said:
        sys.stdout.write(said)
    return 0


if __name__ == "__main__":
    sys.exit(main())
