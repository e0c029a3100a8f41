"""`python tests/ollama_emulator.py`: serve the emulator as a separate process."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence

from tests.emulator.catalog import default_models, many_models
from tests.emulator.server import OllamaEmulator


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until SIGTERM/SIGINT; the base URL is the first line on stdout. Exit code 0 on a clean stop."""
    parser = argparse.ArgumentParser(description="Emulate the Ollama HTTP API on loopback.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--models", type=int, default=0, help="serve many_models(N) instead of default_models()")
    parser.add_argument("--token-delay", type=float, default=0.0, help="seconds per generated token")
    parser.add_argument("--response-tokens", type=int, default=8)
    parser.add_argument("--require-key", default=None, help="act as a proxy that wants this key")
    parser.add_argument("--key-header", default="X-Ollama-Key")
    parser.add_argument("--accept-bearer", action="store_true", help="also accept Authorization: Bearer <key>")
    args = parser.parse_args(argv)

    models = many_models(args.models) if args.models > 0 else default_models()
    emulator = OllamaEmulator(
        models, host=args.host, port=args.port, token_delay=args.token_delay, response_tokens=args.response_tokens
    )
    emulator.faults.update(require_key=args.require_key, key_header=args.key_header, accept_bearer=args.accept_bearer)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    emulator.start()
    sys.stdout.write(emulator.url + "\n")
    sys.stdout.flush()
    while not stop.wait(0.2):  # a bounded wait keeps signal delivery prompt on every platform
        continue
    emulator.stop()
    return 0
