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

`tools_changed()` sends `notifications/tools/list_changed` to every connected client (handshake era: the SDK
2.3 sends it on the session; its `listChanged` capability must be declared in the initialize result, which
the SDK takes from `NotificationOptions`). The sessions are the ones that listed our tools.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from typing import Any

from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel.server import NotificationOptions
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.server.mcpserver.tools import Tool
from mcp.server.models import InitializationOptions
from mcp.server.session import ServerSession
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    CallToolResult,
    GetPromptResult,
    Icon,
    InputRequiredResult,
    ListToolsResult,
    PaginatedRequestParams,
    ToolAnnotations,
)
from pydantic import ValidationError

from .arguments import make_strict, plain_message

log = logging.getLogger(__name__)

_TOOL_TEMPLATES: dict[tuple[Any, ...], Tool] = {}
"""Tools as registered once in this process, by what they were registered with: a resident builds a server
for every session, with the same tool functions made again around that session's context."""


class OllamaMCPServer(MCPServer[Any]):
    """MCPServer with spec-conformant errors for unknown tools and prompts, strict tool arguments, and
    tools/list_changed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # One session per connection that listed our tools. The SDK makes a ServerSession per request; any of
        # them sends notifications on its connection's own channel, and the SDK has no public handle on the
        # connection, hence the private attribute (checked by the tests that wait for the notification).
        self._listeners: weakref.WeakKeyDictionary[object, ServerSession] = weakref.WeakKeyDictionary()
        lowlevel = self._lowlevel_server
        plain = lowlevel.create_initialization_options

        def with_list_changed(
            notification_options: NotificationOptions | None = None, *args: Any, **kwargs: Any
        ) -> InitializationOptions:
            return plain(notification_options or NotificationOptions(tools_changed=True), *args, **kwargs)

        # Every transport (ours, the SDK's stdio and in-memory ones) asks the low-level server for these.
        lowlevel.create_initialization_options = with_list_changed  # type: ignore[method-assign]

    async def _handle_list_tools(
        self, ctx: ServerRequestContext[Any], params: PaginatedRequestParams | None
    ) -> ListToolsResult:
        self._listeners[getattr(ctx.session, "_connection", ctx.session)] = ctx.session
        return await super()._handle_list_tools(ctx, params)

    async def tools_changed(self) -> None:
        """Tell every client that listed our tools to list them again; a gone client is skipped."""
        for connection, session in list(self._listeners.items()):
            try:
                await session.send_tool_list_changed()
            except Exception as exc:  # noqa: BLE001 - a closed stream must not end the server's task
                log.debug("tools/list_changed not delivered: %s", exc)
                self._listeners.pop(connection, None)

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
        key = (name, fn.__module__, fn.__qualname__, repr(annotations), structured_output)
        template = _TOOL_TEMPLATES.get(key) if icons is None and meta is None else None
        registered = self._tool_manager._tools
        if template is not None and template.name not in registered:
            # Same function (a closure made again for another session), same registration: reuse the strict
            # argument model and schemas, bound to this closure. Building them is ~30 ms a tool.
            update = {"fn": fn, "title": title, "description": description or fn.__doc__ or ""}
            registered[template.name] = template.model_copy(update=update)
            return
        super().add_tool(fn, name, title, description, annotations, icons, meta, structured_output)
        tool = self._tool_manager.get_tool(name or fn.__name__)
        if tool is not None:
            make_strict(tool)
            if icons is None and meta is None:
                _TOOL_TEMPLATES[key] = tool

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
