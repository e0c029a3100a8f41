"""The hooks' cost when they step aside, and the prompt hook's hit and false-alarm rates.

    python bench/bench_hooks.py [--runs 20]

Rates: `hook_prompt.is_delegable` on ORDINARY (prompts that must get no hint) and DELEGABLE (prompts that
should). Timing: each hook as Claude Code runs it (`python -I -m ...`, the event JSON on stdin), median wall
time over --runs, for a prompt it stays quiet on and for a short Bash output, against a bare `python -I -c pass`
(the interpreter's own start, which any command hook written in Python pays).

    python bench/bench_hooks.py --frozen dist/ollama-mcp-tray/ollama-mcp-tray

also times the frozen app's form (`<binary> _hook prompt|bash`, what the kit writes for a frozen install)
against the same binary's `serve --version` (its bootloader's start, measured in the same run).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ollama_mcp_tray.server.hook_prompt import is_delegable  # noqa: E402

ORDINARY = [
    "What is a monad?",
    "Fix the failing test in the auth module",
    "Add a --verbose flag to the CLI",
    "Why does this function return None?",
    "Rename the variable foo to bar everywhere",
    "Write a unit test for parse_date",
    "Explain the difference between a list and a tuple",
    "Refactor the login handler to use async",
    "How do I undo my last commit?",
    "Implement pagination for the users endpoint",
    "Make the button blue",
    "What does this error mean: KeyError 'id'",
    "Update the dependencies to the latest versions",
    "Create a Dockerfile for this app",
    "Can you help me design the database schema?",
    "Speed up the image resize code",
    "Add type hints to utils.py",
    "Delete the unused imports",
    "Set up GitHub Actions for the tests",
    "Is it safe to store the token in localStorage?",
    "Write a commit message for these changes",
    "Move the config loading into its own module",
    "Why is the build slow?",
    "Add logging to the payment service",
    "Translate this sentence into French: good morning",
    "Make the API return 404 for missing users",
    "Help me write a cover letter",
    "Open a pull request for this branch",
    "Bump the version to 2.0",
    "What's the best way to handle retries here?",
    "Add a dark mode toggle",
    "Run the tests",
    "Install the dev dependencies",
    "Convert this callback code to promises",
    "Draft an email to the team about the outage",
    "Explain how the cache invalidation works",
    "Add input validation to the signup form",
    "Remove the feature flag for the new editor",
    "Why do I get a segfault when I run it?",
    "Set the timeout to 30 seconds",
    "Write a regex that matches email addresses",
    "Deploy to staging",
    "Add a health check endpoint",
    "Clean up the CSS",
    "Make main.py accept a config path",
    "Fix the typo in the README",
    "How should I name this class?",
    "Add a retry decorator to fetch_user",
    "Plan the migration to Postgres 16",
    "Write a haiku about Mondays",
    "Continue",
    "Yes, go ahead",
    "Summarise what we decided so far",
    "Give me a short summary of your plan",
    "Label the axes of the chart",
]

DELEGABLE = [
    "Summarise the files in src/",
    "Summarize this repository for me",
    "Give me an overview of the docs folder",
    "Summarise README.md and CONTRIBUTING.md",
    "Classify these support tickets by urgency",
    "Label each file in tests/ as unit or integration",
    "Extract all the endpoints from server/routes.py",
    "Pull out the config keys from settings.yaml",
    "List all the TODOs in the codebase",
    "Digest this build log: /tmp/build.log",
    "What failed in the test output in /tmp/test.log?",
    "Which tests failed in ci.log?",
    "Review my diff",
    "Review the changes on this branch before I push",
    "tl;dr of docs/architecture.md",
    "Categorize the issues in issues.csv",
    "Extract the function names from every module in lib/",
    "Summarise the log file for errors",
    "Triage the errors in the server logs",
    "Skim the transcripts folder and summarise the main themes",
    "Give me the gist of the changes in the last 3 commits",
    "Summarise each document in the reports directory",
]


def rates() -> tuple[list[str], list[str]]:
    alarms = [p for p in ORDINARY if is_delegable(p)]
    misses = [p for p in DELEGABLE if not is_delegable(p)]
    return alarms, misses


def median_ms(argv: list[str], stdin: str, runs: int, quiet: bool = True) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=30, check=False)
        times.append((time.perf_counter() - started) * 1000)
        if done.returncode != 0:
            raise SystemExit(f"{argv} failed: {done.stderr[:200]}")
        if quiet and done.stdout:
            raise SystemExit(f"{argv} was expected to stay quiet but said: {done.stdout[:200]}")
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--frozen", type=Path, help="also time the hooks of this frozen binary")
    args = parser.parse_args()
    alarms, misses = rates()
    print(
        f"prompt hook: false alarms {len(alarms)}/{len(ORDINARY)} ordinary prompts ({len(alarms) / len(ORDINARY):.0%})"
    )
    for prompt in alarms:
        print(f"  alarm: {prompt}")
    hits = len(DELEGABLE) - len(misses)
    print(f"prompt hook: hints {hits}/{len(DELEGABLE)} delegable prompts ({hits / len(DELEGABLE):.0%})")
    for prompt in misses:
        print(f"  missed: {prompt}")

    python = sys.executable
    quiet_prompt = json.dumps({"hook_event_name": "UserPromptSubmit", "prompt": ORDINARY[1]})
    short_bash = json.dumps(
        {"hook_event_name": "PostToolUse", "tool_name": "Bash", "tool_input": {"command": "ls"},
         "tool_response": {"stdout": "a\nb\n", "stderr": "", "interrupted": False, "isImage": False}}
    )  # fmt: skip
    bare = median_ms([python, "-I", "-c", "pass"], "", args.runs)
    prompt_ms = median_ms([python, "-I", "-m", "ollama_mcp_tray.server.hook_prompt"], quiet_prompt, args.runs)
    bash_ms = median_ms([python, "-I", "-m", "ollama_mcp_tray.server.hook_bash"], short_bash, args.runs)
    print(f"median of {args.runs} runs, ms: bare interpreter {bare:.1f}; prompt hook (quiet) {prompt_ms:.1f}; "
          f"bash hook (short output) {bash_ms:.1f}")  # fmt: skip
    print(f"ratio to the bare interpreter: prompt {prompt_ms / bare:.2f}x, bash {bash_ms / bare:.2f}x")
    if args.frozen is not None:
        binary = str(args.frozen.resolve())
        start = median_ms([binary, "serve", "--version"], "", args.runs, quiet=False)
        frozen_prompt = median_ms([binary, "_hook", "prompt"], quiet_prompt, args.runs)
        frozen_bash = median_ms([binary, "_hook", "bash"], short_bash, args.runs)
        print(f"frozen, median of {args.runs} runs, ms: binary start (serve --version) {start:.1f}; "
              f"prompt hook (quiet) {frozen_prompt:.1f} ({frozen_prompt / start:.2f}x); "
              f"bash hook (short output) {frozen_bash:.1f} ({frozen_bash / start:.2f}x)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
