"""Qwen Code 0.24: `mcpServers` in ~/.qwen/settings.json ($QWEN_HOME/settings.json when set: QWEN_HOME names the
`.qwen` folder itself), and per project in <project>/.qwen/settings.json. A fork of Gemini CLI: the same entry,
the same refused `env` names, comments kept. A project's server stays "pending approval" until the user runs
`qwen mcp approve` (Qwen stores that with a hash of the config): that approval is the user's to give.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from .base import Machine
from .gemini import SettingsJsonClient

APPROVALS_OVERRIDE = "QWEN_CODE_MCP_APPROVALS_PATH"
NON_BEHAVIORAL = frozenset({"scope", "extensionName", "description"})
"""Entry keys Qwen leaves out of the hash an approval is bound to."""


def approval_hash(entry: dict[str, Any]) -> str:
    """The hash Qwen Code 0.24 binds an approval to: SHA-256 of the entry (less its cosmetic keys) as compact
    JSON with every object's keys sorted. Checked against a real `qwen mcp approve`."""
    behavioral = {k: v for k, v in entry.items() if k not in NON_BEHAVIORAL}
    return hashlib.sha256(
        json.dumps(_sorted(behavioral), separators=(",", ":"), ensure_ascii=False).encode()
    ).hexdigest()


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


class QwenCode(SettingsJsonClient):
    name = "qwen"
    display = "Qwen Code"
    folder = ".qwen"
    programs = ("qwen",)
    approve_fix = "run `qwen mcp approve {name}` in the project"

    def user_file(self, machine: Machine) -> Path:
        return (machine.folder_from("QWEN_HOME") or machine.home / self.folder) / "settings.json"

    def approvals_file(self, machine: Machine) -> Path:
        override = machine.environ.get(APPROVALS_OVERRIDE, "").strip()
        if override:
            return Path(override).expanduser()
        return self.user_file(machine).parent / "mcpApprovals.json"

    def project_approved(self, machine: Machine, project: Path, name: str, entry: dict[str, Any]) -> bool:
        """Whether Qwen connects the project server `name` as `entry` now: the user approved it, and it has not
        changed since (an approval is bound to a hash of the entry, so a rewritten entry is pending again)."""
        from ..configfile.jsonc_document import Document, DocumentError

        try:
            approvals = Document(self.approvals_file(machine).read_text(encoding="utf-8")).value
        except (OSError, UnicodeDecodeError, DocumentError):
            return False
        root = os.path.abspath(project)
        if machine.windows:
            root = root.lower()
        record = approvals.get(root, {}).get(name) if isinstance(approvals.get(root), dict) else None
        return (
            isinstance(record, dict)
            and record.get("status") == "approved"
            and record.get("hash") == approval_hash(entry)
        )
