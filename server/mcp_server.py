"""The MCPServer the app runs: the SDK's, with the MCP specification's error answers and strict tool arguments.

What the SDK 2.3 does by default, and what the specification (2025-11-25, the newest handshake revision the
SDK negotiates) asks for instead:

* `prompts/get` with an unknown name, without a required argument or with one its function refuses: the SDK
  raises a ValueError, which its dispatcher sends as JSON-RPC error code 0. The specification wants -32602
  (Invalid params); a prompt that fails while rendering is an internal error, -32603.
* `tools/call` with an unknown name: the SDK answers a tool result with isError. The specification reports
  an error in *finding* the tool as a protocol error (-32602); only errors from the tool itself, argument
  validation included (SEP-1303), are tool results with isError, so the model can read and correct them.
* `resources/read` of an unknown URI already answers -32602 in the SDK.

Tool arguments are validated strictly (see `arguments.py`), and a validation failure reads as plain words.
The SDK is not patched: this subclass wraps its public methods.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    CallToolResult,
    GetPromptResult,
    Icon,
    InputRequiredResult,
    ToolAnnotations,
)
from pydantic import ValidationError

from .arguments import make_strict, plain_message


class OllamaMCPServer(MCPServer[Any]):
    """MCPServer with spec-conformant errors for unknown tools and prompts, and strict tool arguments."""

    def add_tool(
        self,
        fn: Callable[..., Any],
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        annotations: ToolAnnotations | None = None,
        icons: list[Icon] | None = None,
        meta: dict[str, Any] | None = None,
        structured_output: bool | None = None,
    ) -> None:
        super().add_tool(fn, name, title, description, annotations, icons, meta, structured_output)
        tool = self._tool_manager.get_tool(name or fn.__name__)
        if tool is not None:
            make_strict(tool)

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        tool = self._tool_manager.get_tool(name)
        if tool is None:
            known = ", ".join(t.name for t in self._tool_manager.list_tools()) or "none"
            raise MCPError(code=INVALID_PARAMS, message=f"Unknown tool: {name}. The tools are: {known}.")
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            cause = exc.__cause__
            if isinstance(cause, ValidationError) and not isinstance(exc, UnexpectedToolError):
                # Keep the ValidationError as the cause: the SDK logs only its field names.
                raise ToolError(plain_message(name, cause, tool.parameters)) from cause
            raise

    async def get_prompt(
        self, name: str, arguments: dict[str, Any] | None = None, context: Context[Any, Any] | None = None
    ) -> GetPromptResult | InputRequiredResult:
        prompt = self._prompt_manager.get_prompt(name)
        if prompt is None:
            known = ", ".join(p.name for p in self._prompt_manager.list_prompts()) or "none"
            raise MCPError(code=INVALID_PARAMS, message=f"Unknown prompt: {name}. The prompts are: {known}.")
        required = [a.name for a in prompt.arguments or [] if a.required]
        missing = [a for a in required if a not in (arguments or {})]
        if missing:
            raise MCPError(code=INVALID_PARAMS, message=f"Prompt {name} needs the argument(s): {', '.join(missing)}.")
        try:
            return await super().get_prompt(name, arguments, context)
        except MCPError:
            raise
        except ValueError as exc:
            invalid = _argument_error(exc, {a.name for a in prompt.arguments or []})
            if invalid is not None:
                # The prompt function's own validation (validate_call) refused an argument: Invalid params.
                raise MCPError(code=INVALID_PARAMS, message=plain_message(f"prompt {name}", invalid, {})) from exc
            raise MCPError(code=INTERNAL_ERROR, message=f"Prompt {name} failed: {exc}") from exc


def _argument_error(exc: BaseException, names: set[str]) -> ValidationError | None:
    """The ValidationError behind a prompt failure when it is about the prompt's own arguments."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ValidationError):
            errors = seen.errors(include_url=False)
            return seen if errors and all(e["loc"] and e["loc"][0] in names for e in errors) else None
        seen = seen.__cause__
    return None
