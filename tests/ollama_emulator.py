#!/usr/bin/env python3
"""A fast, faithful stand-in for the Ollama HTTP API, for tests and benchmarks.

The wire behaviour follows the team's fact sheet (`/work/shared/OLLAMA_API.md`): NDJSON streaming by default,
compact Go-style JSON for single replies, Go's exact error texts and statuses, omitempty metrics in nanoseconds,
load/unload requests, `/api/ps` with keep-alive expiry, thinking, JSON format, tool calls, embeddings and pull.

Generation is deterministic: the reply echoes the words of the prompt (or of the last chat message), cycled to
`response_tokens` tokens, one token every `token_delay` seconds. Thinking-capable models first think
"Let me think about it." (five tokens) unless `think` is false. Chat with tools on a tool-capable model calls the
first tool, with arguments built from its JSON schema (strings carry the message text), unless the last message is
a tool result. Embeddings are deterministic per model and text, L2-normalised.

For long inputs (see `tests/emulator/FACTS.md`): a model with `bytes_per_token` counts prompt tokens like a
tokenizer; `num_ctx` (capped to the model's `context_length`) bounds the prompt, and with `truncate: false` a longer
one is refused with llama-server's error as Ollama passes it on. `answer_mode = "receipt"` makes replies say what
the model received (bytes, a digest, the `=== name ===` section headers); `slots` limits generations running at
once (OLLAMA_NUM_PARALLEL) and `prompt_delay` adds prompt-evaluation time per prompt token. `cloud_model()` is a
cloud entry with `remote_model`/`remote_host`.

In process::

    with OllamaEmulator(default_models()) as emu:
        emu.url                          # http://127.0.0.1:PORT
        emu.faults.require_key = "s3cret"
        emu.stop(); emu.start()          # down, then back up on the same port

As a process (prints its base URL as the first stdout line, serves until SIGTERM/SIGINT, exits 0)::

    python tests/ollama_emulator.py --port 0 [--models N] [--token-delay S] [--response-tokens N] [--require-key K]

The implementation lives in `tests/emulator/`: `wire` (Go-style encoding and request decoding), `catalog` (names
and models), `content` (what generations say), `state`, `faults`, `server` (HTTP plumbing) and `endpoints`.
"""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as a script: make the `tests` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.emulator.catalog import EmulatedModel, default_models, many_models
from tests.emulator.cli import main
from tests.emulator.content import THINKING_PIECES
from tests.emulator.faults import Faults
from tests.emulator.server import OLLAMA_VERSION, OllamaEmulator
from tests.emulator.state import RecordedRequest

__all__ = [
    "OLLAMA_VERSION",
    "THINKING_PIECES",
    "EmulatedModel",
    "Faults",
    "OllamaEmulator",
    "RecordedRequest",
    "default_models",
    "main",
    "many_models",
]

if __name__ == "__main__":
    sys.exit(main())
