"""How exactly the JSONC and TOML cores give a file back: set our entry, then remove it, over many generated
documents (the tests' own generators: comments, trailing commas, CRLF, tabs, multi-line strings...), and count
the results that are byte-identical to the original, and the time one set+remove takes.

    .venv/bin/python bench/bench_formats.py [count]
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hypothesis import HealthCheck, given, settings
from hypothesis.errors import NonInteractiveExampleWarning

from ollama_mcp_tray.tray.configfile import jsonc_document, toml_document
from tests.tray.configfile import test_jsonc_document as jsonc_tests
from tests.tray.configfile import test_toml_document as toml_tests

ENTRY = {"command": "/opt/venv/bin/python", "args": ["-I", "-m", "srv"], "env": {"OLLAMA_URL": "http://h:1"}}


def measure(name: str, strategy: object, core: object, count: int) -> None:
    results = {"identical": 0, "final newline added": 0, "other": 0}
    seconds: list[float] = []

    @settings(max_examples=count, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(doc=strategy)
    def run(doc: tuple) -> None:
        text = doc[0]
        document = core.Document(text)  # type: ignore[attr-defined]
        path = ("mcpServers",) if name == "JSONC" else ("mcp_servers",)
        if document.get((*path, "ollama")) is not core.MISSING:  # type: ignore[attr-defined]
            return
        if name == "JSONC" and not isinstance(document.value.get("mcpServers", {}), dict):
            return
        start = time.perf_counter()
        added = document.set(path, "ollama", ENTRY)
        back = core.Document(added).remove(path, "ollama")  # type: ignore[attr-defined]
        seconds.append(time.perf_counter() - start)
        if name == "JSONC" and "mcpServers" not in document.value:
            # A created table stays as `"mcpServers": {}` here; the registrar removes what it created.
            back = core.Document(back).remove((), "mcpServers")  # type: ignore[attr-defined]
        if back == text:
            results["identical"] += 1
        elif back == text + "\n":
            results["final newline added"] += 1
        else:
            results["other"] += 1

    run()
    total = sum(results.values())
    seconds.sort()
    median = seconds[len(seconds) // 2] * 1000 if seconds else 0.0
    figures = ", ".join(f"{k} {v}" for k, v in results.items())
    print(f"{name}: {total} documents: {figures}; median set+remove {median:.2f} ms")


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    warnings.simplefilter("ignore", NonInteractiveExampleWarning)
    measure("JSONC", jsonc_tests.documents(), jsonc_document, count)
    measure("TOML", toml_tests.documents(), toml_document, count)


if __name__ == "__main__":
    main()
