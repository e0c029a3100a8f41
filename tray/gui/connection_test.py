""" "Test connection": start the registered server the way Claude Code would, shake hands, list the models.

The MCP SDK costs tens of megabytes once imported, and the tray runs all day, so the test runs in a child
process (`python -m ollama_mcp_tray.tray.gui.connection_test`): the tray passes the entry as JSON on stdin and
reads one JSON result line from stdout. Only the child imports `mcp`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from ..launch import child_command

DEFAULT_TIMEOUT = 30.0
_DEFAULTED = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@dataclass(frozen=True)
class ConnectionResult:
    """What the test found; `message` is ready for a notification."""

    ok: bool
    message: str
    tools: tuple[str, ...] = ()
    models: tuple[str, ...] = ()


def expand_env(value: str, env: Mapping[str, str]) -> str:
    """Claude Code's `${NAME}` / `${NAME:-default}` expansion, as used in a project's .mcp.json.

    >>> expand_env("${OLLAMA_URL:-http://h:1}", {})
    'http://h:1'
    >>> expand_env("${OLLAMA_URL:-http://h:1}", {"OLLAMA_URL": "http://x:2"})
    'http://x:2'
    """
    return _DEFAULTED.sub(lambda m: env.get(m.group(1)) or (m.group(2) or ""), value)


def run_connection_test(
    command: str,
    args: Sequence[str],
    env: Mapping[str, str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    python: str = sys.executable,
) -> ConnectionResult:
    """Run the handshake in a child process and return its verdict (never raises for a failed test)."""
    request = json.dumps({"command": command, "args": list(args), "env": dict(env), "timeout": timeout})
    try:
        done = subprocess.run(
            child_command(python),
            input=request,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=timeout + 10,
        )
    except subprocess.TimeoutExpired:
        return ConnectionResult(False, f"The connection test did not finish within {timeout + 10:g} s.")
    except OSError as exc:
        return ConnectionResult(False, f"Could not run the connection test: {exc}.")
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    try:
        data = json.loads(lines[-1])
        return ConnectionResult(bool(data["ok"]), str(data["message"]), tuple(data["tools"]), tuple(data["models"]))
    except (IndexError, ValueError, KeyError, TypeError):
        tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        return ConnectionResult(False, f"The connection test failed: {tail[0]}")


async def _handshake(command: str, args: list[str], env: dict[str, str], timeout: float) -> ConnectionResult:
    import anyio
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters

    expanded = {name: expand_env(value, os.environ) for name, value in env.items()}
    if "OLLAMA_MCP_RESIDENT" in os.environ:  # Claude Code passes the user's environment, the resident switch too
        expanded.setdefault("OLLAMA_MCP_RESIDENT", os.environ["OLLAMA_MCP_RESIDENT"])
    params = StdioServerParameters(command=command, args=args, env=expanded)
    with anyio.fail_after(timeout):
        async with Client(params, read_timeout_seconds=timeout) as client:
            info = client.server_info
            tools = [tool.name for tool in (await client.list_tools()).tools]
            lister = next((name for name in tools if name.endswith("list_models")), None)
            if lister is None:
                return ConnectionResult(False, f"The server answered but offers no list_models tool ({tools}).")
            result = await client.call_tool(lister, {})
            structured: Any = result.structured_content or {}
            if result.is_error:
                text = " ".join(getattr(c, "text", "") for c in result.content).strip()
                return ConnectionResult(False, f"The server runs, but listing models failed: {text}", tuple(tools))
    models = tuple(str(m.get("name")) for m in structured.get("models", []) if isinstance(m, dict))
    who = f"{info.name} {info.version}" if info else "The server"
    return ConnectionResult(
        True,
        f"Claude Code can use Ollama: {who} answered with {len(tools)} tools and {len(models)} models.",
        tuple(tools),
        models,
    )


def child_main() -> int:
    """The child process: read the request from stdin, print one JSON verdict line."""
    import anyio

    request = json.loads(sys.stdin.read())
    try:
        result = anyio.run(_handshake, request["command"], request["args"], request["env"], float(request["timeout"]))
    except TimeoutError:
        result = ConnectionResult(False, f"The server did not complete the handshake within {request['timeout']} s.")
    # The child's whole job is to turn any failure into a result line the tray can show.
    except Exception as exc:  # noqa: BLE001
        result = ConnectionResult(False, f"The server could not be started or did not speak MCP: {_describe(exc)}")
    sys.stdout.write(json.dumps(asdict(result)) + "\n")
    return 0


def _describe(exc: BaseException) -> str:
    inner = getattr(exc, "exceptions", None)  # an ExceptionGroup from the SDK's task group
    if isinstance(inner, tuple) and inner and isinstance(inner[0], BaseException):
        return _describe(inner[0])
    return f"{type(exc).__name__}: {exc}"


if __name__ == "__main__":
    sys.exit(child_main())
