"""`packaging/build_mcpb.py` builds Claude Desktop's one-click bundle: a zip whose manifest.json follows the MCPB
manifest 0.4 spec, with the key as a sensitive setting, and whose entry point starts the bundled server."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import anyio

from ollama_mcp_tray.tray.doctor import handshake
from tests.ollama_emulator import OllamaEmulator

ROOT = Path(__file__).resolve().parents[2]
BUILDER = ROOT / "packaging" / "build_mcpb.py"

# The MCPB manifest 0.4 spec (github.com/modelcontextprotocol/mcpb, schemas/mcpb-manifest-v0.4.schema.json),
# as facts: required and allowed keys (unknown keys are rejected), server types, user_config fields.
REQUIRED = {"name", "version", "description", "author", "server"}
ALLOWED = REQUIRED | {
    "$schema", "dxt_version", "manifest_version", "display_name", "long_description", "repository", "homepage",
    "documentation", "support", "icon", "icons", "screenshots", "localization", "tools", "tools_generated",
    "prompts", "prompts_generated", "keywords", "license", "privacy_policies", "compatibility", "user_config",
    "_meta",
}  # fmt: skip
SERVER_TYPES = {"python", "node", "binary", "uv"}
MCP_CONFIG_KEYS = {"command", "args", "env", "platform_overrides"}
USER_CONFIG_TYPES = {"string", "number", "boolean", "directory", "file"}
USER_CONFIG_KEYS = {"type", "title", "description", "required", "default", "multiple", "sensitive", "min", "max"}
PLATFORMS = {"darwin", "win32", "linux"}


def build(dist: Path) -> Path:
    done = subprocess.run(
        [sys.executable, str(BUILDER), "--dist", str(dist)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    bundle = Path(done.stdout.strip())
    assert bundle.parent == dist and bundle.suffix == ".mcpb"
    return bundle


def check_manifest(manifest: dict[str, Any], names: set[str]) -> None:
    """Every rule of the spec that applies to what the manifest holds."""
    assert manifest.keys() >= REQUIRED, REQUIRED - manifest.keys()
    assert manifest.keys() <= ALLOWED, manifest.keys() - ALLOWED
    assert manifest["manifest_version"] == "0.4"
    assert all(isinstance(manifest[k], str) and manifest[k] for k in ("name", "version", "description"))
    assert re.fullmatch(r"[a-z0-9-]+", manifest["name"])
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", manifest["version"])
    assert set(manifest["author"]) <= {"name", "email", "url"} and manifest["author"]["name"]
    server = manifest["server"]
    assert server["type"] in SERVER_TYPES
    assert set(server) <= {"type", "entry_point", "mcp_config"}
    assert server["entry_point"] in names
    if server["type"] != "uv" or "mcp_config" in server:
        config = server["mcp_config"]
        assert set(config) <= MCP_CONFIG_KEYS and isinstance(config["command"], str)
        assert all(isinstance(a, str) for a in config.get("args", []))
        assert all(isinstance(v, str) for v in config.get("env", {}).values())
    if "icon" in manifest:
        assert manifest["icon"] in names
    compatibility = manifest.get("compatibility", {})
    assert set(compatibility) <= {"claude_desktop", "platforms", "runtimes"}
    assert set(compatibility.get("platforms", [])) <= PLATFORMS
    for key, field in manifest.get("user_config", {}).items():
        assert {"type", "title", "description"} <= field.keys() <= USER_CONFIG_KEYS, key
        assert field["type"] in USER_CONFIG_TYPES
        assert isinstance(field.get("sensitive", False), bool)


def test_the_bundle_is_a_zip_whose_manifest_follows_the_spec_and_keeps_the_key_sensitive(tmp_path: Path) -> None:
    bundle = build(tmp_path / "dist")
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("manifest.json"))
        pyproject = archive.read("pyproject.toml").decode()
    check_manifest(manifest, names)
    assert manifest["user_config"]["ollama_key"]["sensitive"] is True
    assert not manifest["user_config"]["ollama_url"].get("sensitive", False)
    # Every ${user_config.X} the server's env uses is declared.
    env = manifest["server"]["mcp_config"]["env"]
    used = {m for value in env.values() for m in re.findall(r"\$\{user_config\.([a-z_]+)\}", value)}
    assert used == set(manifest["user_config"])
    assert env["OLLAMA_KEY"] == "${user_config.ollama_key}"
    # The server alone: no tray, no GUI library, no key.
    assert not any(n.startswith("server/ollama_mcp_tray/tray") for n in names)
    assert "pystray" not in pyproject and "Pillow" not in pyproject and '"mcp>=' in pyproject
    from ollama_mcp_tray.server import __version__

    assert manifest["version"] == __version__ and bundle.name == f"ollama-mcp-tray-{__version__}.mcpb"


def test_building_twice_gives_the_same_bytes(tmp_path: Path) -> None:
    assert build(tmp_path / "a").read_bytes() == build(tmp_path / "b").read_bytes()


def test_the_entry_point_starts_the_bundled_server_and_lists_its_tools(tmp_path: Path, ollama: OllamaEmulator) -> None:
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(build(tmp_path / "dist")) as archive:
        archive.extractall(unpacked)
        manifest = json.loads(archive.read("manifest.json"))
    # The bundle's own copy loads first, whatever else is installed: mark it and ask its version.
    version_file = unpacked / "server" / "ollama_mcp_tray" / "server" / "_version.py"
    version_file.write_text('__version__ = "9.9.9+bundle"\n', encoding="utf-8")
    entry = str(unpacked / manifest["server"]["entry_point"])
    asked = subprocess.run([sys.executable, "-I", entry, "--version"], capture_output=True, text=True, timeout=60)
    assert asked.stdout.strip() == "ollama-mcp-server 9.9.9+bundle", asked.stderr
    # Claude Desktop hands an unset optional setting over as an empty string: the server must take that.
    env = {"HOME": os.environ["HOME"], "PATH": os.environ.get("PATH", ""), "OLLAMA_URL": ollama.url}
    env |= {"OLLAMA_KEY": "", "OLLAMA_DEFAULT_MODEL": ""}
    shake = anyio.run(handshake, sys.executable, ["-I", entry], env)
    assert shake.ok, shake.error
    assert len(shake.tools) >= 3
