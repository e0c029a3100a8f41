#!/usr/bin/env bash
# Installs Claude Code 2.1.120, the last version that runs a PostToolUse hook on Bash but ignores the
# `updatedToolOutput` it answers, into a throw-away prefix:
#   tests/setup/22-claude-cli-before-digest.sh [PREFIX]     (default: ${TMPDIR:-/tmp}/claude-code-2.1.120)
# tests/test_claude_kit.py finds it there by default, or at $CLAUDE_BEFORE_DIGEST_BIN, and shows that the kit's
# minimum (tray/kit_actions.py DIGEST_MIN_VERSION, 2.1.121) is the first version whose model gets the digest.
# Prints the binary's path as its last line. Offline, it says so and exits 0 (the test is then skipped).
set -euo pipefail

VERSION="2.1.120"
PREFIX="${1:-${TMPDIR:-/tmp}/claude-code-$VERSION}"
BIN="$PREFIX/node_modules/.bin/claude"

if [ -x "$BIN" ] && "$BIN" --version 2>/dev/null | grep -q "^$VERSION "; then
    echo "$BIN"
    exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
    echo "npm is required to install @anthropic-ai/claude-code; install nodejs and npm first" >&2
    exit 1
fi
mkdir -p "$PREFIX"
if ! npm install --prefix "$PREFIX" --no-fund --no-audit --no-save "@anthropic-ai/claude-code@$VERSION" >&2; then
    echo "npm registry unreachable: Claude Code $VERSION is not installed; its test will be skipped" >&2
    exit 0
fi
if ! "$BIN" --version >/dev/null 2>&1; then  # npm skipped the postinstall step that fetches the native binary
    (cd "$PREFIX/node_modules/@anthropic-ai/claude-code" && node install.cjs) >&2
fi
"$BIN" --version >&2
echo "$BIN"
