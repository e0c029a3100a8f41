"""Qwen Code 0.24: `mcpServers` in ~/.qwen/settings.json ($QWEN_HOME/settings.json when set: QWEN_HOME names the
`.qwen` folder itself), and per project in <project>/.qwen/settings.json. A fork of Gemini CLI: the same entry,
the same refused `env` names, comments kept. A project's server stays "pending approval" until the user runs
`qwen mcp approve` (Qwen stores that with a hash of the config): that approval is the user's to give.
"""

from __future__ import annotations

from pathlib import Path

from .base import Machine
from .gemini import SettingsJsonClient


class QwenCode(SettingsJsonClient):
    name = "qwen"
    display = "Qwen Code"
    folder = ".qwen"
    programs = ("qwen",)

    def user_file(self, machine: Machine) -> Path:
        return (machine.folder_from("QWEN_HOME") or machine.home / self.folder) / "settings.json"
