"""Tool descriptions: they tell Claude *when* to reach for a local model, and which models there are.

Names of installed models come from a small cache file written whenever the server lists models, so the
descriptions are ready at start without waiting for Ollama (which may be slow or down); a background
refresh then brings them up to date. Every description stays under `LIMIT` bytes, the most a client may show.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

from .paths import open_private

log = logging.getLogger(__name__)

LIMIT = 2048  # bytes; clients may cut longer descriptions

WHEN = (
    "Use a local model for work that should stay on this machine (private code, sensitive documents, "
    "secrets-adjacent logs) or that is cheap and repetitive: summaries, classification, extraction, "
    "rewording, boilerplate, first drafts, commit messages. Check its answer; prefer yourself for hard "
    "reasoning."
)


def read_model_cache(path: Path) -> list[str]:
    """Model names from the cache file; [] when it is missing or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    names = data.get("models") if isinstance(data, dict) else None
    return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []


def write_model_cache(path: Path, names: Sequence[str]) -> None:
    """Store model names for the next start (atomic replace; failures only logged)."""
    try:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with os.fdopen(open_private(tmp, os.O_WRONLY | os.O_TRUNC), "w", encoding="utf-8") as fh:
            fh.write(json.dumps({"models": list(names)}))
        os.replace(tmp, path)
    except OSError as exc:
        log.debug("Could not write the model cache %s: %s", path, exc)


def _models_line(models: Sequence[str], default: str | None, budget: int) -> str:
    if not models and not default:
        return "Installed models: unknown yet (call ollama_list_models)."
    head = f"Default model: {default}. " if default else ""
    shown: list[str] = []
    for i, name in enumerate(models):
        rest = len(models) - i - 1
        candidate = ", ".join([*shown, name])
        more = f" (+{rest} more; see ollama_list_models)" if rest else ""
        if len(f"{head}Installed: {candidate}.{more}".encode()) > budget:
            break
        shown.append(name)
    more_count = len(models) - len(shown)
    tail = f" (+{more_count} more; see ollama_list_models)" if more_count else ""
    listed = f"Installed: {', '.join(shown)}.{tail}" if models else ""
    return (head + listed).strip()


def fit(text: str, limit: int = LIMIT) -> str:
    """Cut text to `limit` UTF-8 bytes at a word boundary."""
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    cut = raw[: limit - 3].decode("utf-8", errors="ignore").rsplit(" ", 1)[0]
    return cut + "..."


def generation_description(kind: str, models: Sequence[str], default: str | None) -> str:
    """The description of ollama_generate (kind="generate") or ollama_chat (kind="chat")."""
    if kind == "chat":
        what = (
            "Chat with a local Ollama model: send a list of messages (system, user, assistant, tool) and get "
            "the assistant's reply. Use for multi-turn work or when you want to give the model a role."
        )
    else:
        what = "Generate text with a local Ollama model from one prompt (plus an optional system prompt)."
    tips = (
        "Omit `model` to use the default. format='json' or a JSON schema gives parseable output; "
        "think=true returns the model's reasoning separately. Long answers stream with progress."
    )
    base = f"{what} {WHEN} {tips}"
    budget = LIMIT - len(base.encode()) - 2
    return fit(f"{base} {_models_line(models, default, budget)}")


STATIC = {
    "list_models": (
        "List the models installed in Ollama: name, size, family, parameter size, quantization, "
        "capabilities, context length, and whether each is loaded in memory now (loaded models answer "
        "without a load delay). Use before choosing a model."
    ),
    "show": (
        "Show one model's details: context length, capabilities (completion, tools, vision, embedding, "
        "thinking), default parameters, template, system prompt and license."
    ),
    "ps": (
        "List the models loaded in memory now: memory and GPU (VRAM) use, context length, and when each "
        "unloads if unused."
    ),
    "embed": (
        "Compute embeddings (L2-normalised vectors) for one text or a list of texts with a local model, "
        "e.g. for similarity search over private documents that should not leave the machine."
    ),
    "pull": (
        "Download a model into Ollama (e.g. 'qwen2.5-coder:3b'), reporting progress. Large models take "
        "minutes and gigabytes: ask the user first."
    ),
    "delete": "Delete an installed model from Ollama to free disk space. Irreversible: ask the user first.",
}
