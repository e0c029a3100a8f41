#!/usr/bin/env bash
# Installs the real Claude Code CLI (pinned) into a repo-local, git-ignored prefix for the end-to-end tests:
#   .tools/claude/node_modules/.bin/claude
# Idempotent: does nothing when that version is already there. Needs npm (node 20 works: the package only
# copies a prebuilt native binary; its `engines` asks for node >= 22, which npm merely warns about).
# The installed CLI runs offline: `claude mcp list/get/add-json/remove` need no login and no network.
set -euo pipefail

VERSION="2.1.330"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PREFIX="$ROOT/.tools/claude"
BIN="$PREFIX/node_modules/.bin/claude"

if [ -x "$BIN" ] && "$BIN" --version 2>/dev/null | grep -q "^$VERSION "; then
    echo "claude $VERSION already installed at $BIN"
    exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
    echo "npm is required to install @anthropic-ai/claude-code; install nodejs and npm first" >&2
    exit 1
fi

mkdir -p "$PREFIX"
npm install --prefix "$PREFIX" --no-fund --no-audit --no-save "@anthropic-ai/claude-code@$VERSION"

# The postinstall step copies the platform's native binary over bin/claude.exe; newer npm versions may skip
# install scripts, so run it ourselves when the placeholder is still there.
PKG="$PREFIX/node_modules/@anthropic-ai/claude-code"
if ! "$BIN" --version >/dev/null 2>&1; then
    (cd "$PKG" && node install.cjs)
fi
"$BIN" --version
