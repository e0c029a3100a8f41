"""Each tool is named once: the functions, their descriptions, their hints and the README's table agree."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ollama_mcp_tray.server.app import ANNOTATIONS, MODEL_AWARE
from ollama_mcp_tray.server.descriptions import STATIC

README = Path(__file__).resolve().parents[2] / "README.md"

pytestmark = pytest.mark.anyio


async def every_tool(connect) -> dict[str, object]:
    async with connect(allow_model_management=True) as client:
        return {t.name: t for t in (await client.list_tools()).tools}


async def test_every_served_tool_has_one_description_and_one_set_of_hints(connect):
    served = {name.removeprefix("ollama_") for name in await every_tool(connect)}
    assert served == set(ANNOTATIONS)
    assert set(MODEL_AWARE).isdisjoint(STATIC)
    assert served == set(STATIC) | set(MODEL_AWARE)


async def test_the_readme_table_lists_exactly_the_served_tools(connect):
    text = README.read_text(encoding="utf-8")
    section = text.split("## The MCP tools", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    documented = {name for row in rows for name in re.findall(r"`(ollama_\w+)`", row.split("|")[1])}
    assert documented == set(await every_tool(connect))
