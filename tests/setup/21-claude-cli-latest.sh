#!/usr/bin/env bash
# Installs the newest published Claude Code CLI (npm's `latest`) into a throw-away prefix, for running the
# real-client tests against it as well as against the pinned one (tests/setup/20-claude-cli.sh):
#   tests/setup/21-claude-cli-latest.sh [PREFIX]        (default: ${TMPDIR:-/tmp}/claude-code-latest)
# tests/test_claude_session.py finds it there by default, or at $CLAUDE_LATEST_BIN.
# Prints the binary's path as its last line. Never touches .tools (the pinned CLI lives there).
set -euo pipefail

PREFIX="${1:-${TMPDIR:-/tmp}/claude-code-latest}"
BIN="$PREFIX/node_modules/.bin/claude"

if ! command -v npm >/dev/null 2>&1; then
    echo "npm is required to install @anthropic-ai/claude-code; install nodejs and npm first" >&2
    exit 1
fi

# Offline (no registry), there is nothing newer to try: say so and let the rest of the setup go on.
if ! VERSION="$(npm view @anthropic-ai/claude-code version 2>/dev/null)" || [ -z "$VERSION" ]; then
    echo "npm registry unreachable: the newest Claude Code is not installed; its tests will be skipped" >&2
    exit 0
fi
if [ -x "$BIN" ] && "$BIN" --version 2>/dev/null | grep -q "^$VERSION "; then
    echo "claude $VERSION already installed at $BIN" >&2
    echo "$BIN"
    exit 0
fi

mkdir -p "$PREFIX"
npm install --prefix "$PREFIX" --no-fund --no-audit --no-save "@anthropic-ai/claude-code@$VERSION" >&2
# As in 20-claude-cli.sh: run the postinstall step ourselves when npm skipped it.
if ! "$BIN" --version >/dev/null 2>&1; then
    (cd "$PREFIX/node_modules/@anthropic-ai/claude-code" && node install.cjs) >&2
fi
"$BIN" --version >&2
echo "$BIN"
