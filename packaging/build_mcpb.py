#!/usr/bin/env python3
"""Build the Claude Desktop bundle: `dist/ollama-mcp-tray-<version>.mcpb`, its one-click install format.

    python packaging/build_mcpb.py [--dist DIR]

An `.mcpb` is a zip with a `manifest.json` (MCPB manifest 0.4) at its root. Ours is a `uv` bundle: the host
runs the entry point with uv, which installs the server's dependencies from the bundle's `pyproject.toml`, so
one bundle serves macOS and Windows alike (no compiled wheels inside). The bundle holds only the server: never
the tray, pystray or Pillow. The Ollama key is a `sensitive` user setting (Claude Desktop keeps it in the
system's keychain) handed to the server as OLLAMA_KEY; the address and default model are plain settings.

The archive is reproducible: entries sorted, fixed timestamps.

Exit codes: 0 built, 1 the build failed, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MANIFEST_VERSION = "0.4"
BUNDLE_NAME = "ollama-mcp-tray"
ENTRY_POINT = "server/main.py"
FIXED_TIME = (2020, 1, 1, 0, 0, 0)
# What the server imports at run time (pyproject's dependencies, minus the tray's GUI ones).
SERVER_DEPENDENCIES = ("mcp", "httpx2", "h11", "platformdirs")

MAIN = '''"""Claude Desktop starts this (through uv): the stdio MCP server of Ollama MCP Tray."""

import os
import sys

# The bundle's own copy of the server, whatever the host put on sys.path (-I leaves the script's folder out).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from ollama_mcp_tray.server.__main__ import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
'''


def project() -> dict[str, Any]:
    """What the bundle needs from this checkout's pyproject.toml: version, Python, the server's dependencies."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    version = re.search(r'__version__\s*=\s*"([^"]+)"', (ROOT / "server" / "_version.py").read_text("utf-8"))
    python = re.search(r'^requires-python\s*=\s*"([^"]+)"', text, re.M)
    block = re.search(r"^dependencies\s*=\s*\[(.*?)^\]", text, re.M | re.S)
    if version is None or python is None or block is None:
        raise SystemExit("pyproject.toml or server/_version.py is not shaped as expected")
    requirements = re.findall(r'"([^"]+)"', block.group(1))
    wanted = [r for r in requirements if re.split(r"[<>=!~ ;\[]", r, maxsplit=1)[0] in SERVER_DEPENDENCIES]
    return {"version": version.group(1), "requires_python": python.group(1), "dependencies": wanted}


def manifest(version: str, requires_python: str) -> dict[str, Any]:
    """The bundle's manifest.json (MCPB manifest 0.4)."""
    return {
        "manifest_version": MANIFEST_VERSION,
        "name": BUNDLE_NAME,
        "display_name": "Ollama (local models)",
        "version": version,
        "description": "Lend Claude your local Ollama models: delegate drafts, summaries and boilerplate to them.",
        "long_description": (
            "The MCP server of Ollama MCP Tray. It talks to the Ollama you run (on this machine or behind a "
            "proxy) and offers its models as tools. The key, if your Ollama needs one, stays in your keychain."
        ),
        "author": {"name": "Ollama MCP Tray developers"},
        "license": "MIT",
        "icon": "icon.png",
        "keywords": ["ollama", "local", "llm"],
        "server": {
            "type": "uv",
            "entry_point": ENTRY_POINT,
            "mcp_config": {
                "command": "uv",
                "args": ["run", "--project", "${__dirname}", "${__dirname}/" + ENTRY_POINT],
                "env": {
                    "OLLAMA_URL": "${user_config.ollama_url}",
                    "OLLAMA_KEY": "${user_config.ollama_key}",
                    "OLLAMA_DEFAULT_MODEL": "${user_config.default_model}",
                },
            },
        },
        "tools_generated": True,
        "compatibility": {"platforms": ["darwin", "win32"], "runtimes": {"python": requires_python}},
        "user_config": {
            "ollama_url": {
                "type": "string",
                "title": "Ollama address",
                "description": "Where Ollama answers, e.g. http://127.0.0.1:11434 (empty: that default).",
                "default": "http://127.0.0.1:11434",
                "required": False,
            },
            "ollama_key": {
                "type": "string",
                "title": "Ollama key",
                "description": "Only for an Ollama behind a proxy that asks for a key. Kept in your keychain.",
                "sensitive": True,
                "required": False,
            },
            "default_model": {
                "type": "string",
                "title": "Default model",
                "description": "The model used when Claude names none (empty: the server picks an installed one).",
                "required": False,
            },
        },
    }


def bundle_pyproject(version: str, requires_python: str, dependencies: Sequence[str]) -> str:
    """The bundle's pyproject.toml: uv installs exactly the server's dependencies; nothing is built."""
    listed = "".join(f'    "{d}",\n' for d in dependencies)
    return (
        "[project]\n"
        f'name = "{BUNDLE_NAME}-bundle"\n'
        f'version = "{version}"\n'
        f'requires-python = "{requires_python}"\n'
        f"dependencies = [\n{listed}]\n\n"
        "[tool.uv]\npackage = false\n"
    )


def _entry(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, FIXED_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    archive.writestr(info, data)


def bundle_files() -> dict[str, bytes]:
    """Every file of the bundle, by its path inside the archive."""
    facts = project()
    files: dict[str, bytes] = {
        "manifest.json": (json.dumps(manifest(facts["version"], facts["requires_python"]), indent=2) + "\n").encode(),
        "pyproject.toml": bundle_pyproject(facts["version"], facts["requires_python"], facts["dependencies"]).encode(),
        ENTRY_POINT: MAIN.encode(),
        "icon.png": (ROOT / "assets" / "icons" / "app-256.png").read_bytes(),
    }
    for source in sorted((ROOT / "server").glob("*.py")):
        files[f"server/ollama_mcp_tray/server/{source.name}"] = source.read_bytes()
    return files


def build(dist: Path) -> Path:
    """Write the bundle into `dist`; returns its path."""
    files = bundle_files()
    version = json.loads(files["manifest.json"])["version"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(files):
            _entry(archive, name, files[name])
    dist.mkdir(parents=True, exist_ok=True)
    target = dist / f"{BUNDLE_NAME}-{version}.mcpb"
    partial = target.with_name(target.name + ".partial")
    partial.write_bytes(buffer.getvalue())
    partial.replace(target)
    return target


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the Claude Desktop bundle (.mcpb) of the server.")
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="output folder (default: dist/)")
    args = parser.parse_args(argv)
    try:
        target = build(args.dist)
    except OSError as exc:
        sys.stderr.write(f"build_mcpb: {exc}\n")
        return 1
    sys.stdout.write(f"{target}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
