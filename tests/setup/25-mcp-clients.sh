#!/usr/bin/env bash
# Installs the real MCP clients' CLIs (pinned, from the npm registry only) into a repo-local, git-ignored prefix
# for the tests that prove each client sees our server (tests/tray/clients/test_client_clis.py):
#   .tools/clients/<name>/node_modules/...     one npm prefix per client, so each is pinned on its own
#   .tools/clients/node22/...                  a pinned Node 22 (Gemini CLI and Qwen Code need Node >= 22)
#   .tools/clients/bin/{gemini,qwen,opencode,codex}   wrappers that run each with the right Node
# Idempotent: a client already present at its pinned version is left alone. Nothing here runs a client in the
# real HOME (the smoke check after an install uses a throw-away HOME).
set -euo pipefail

GEMINI_VERSION="0.61.0"
QWEN_VERSION="0.24.4"
OPENCODE_VERSION="1.18.33"
CODEX_VERSION="0.171.0"
NODE_VERSION="22.23.3"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DEST="$ROOT/.tools/clients"
BIN="$DEST/bin"
# A hung registry must not hang the whole setup: each npm install gets this long.
INSTALL_TIMEOUT="${MCP_CLIENTS_INSTALL_TIMEOUT:-600}"

fail() {
    echo "25-mcp-clients.sh: $*" >&2
    exit 1
}

command -v npm >/dev/null 2>&1 || fail "npm is required to install the MCP clients' CLIs; install nodejs and npm first"

# The Node package for this platform: node-<os>-<arch> ships the binary as bin/node (the `node` package only
# installs the same one from a preinstall script).
case "$(uname -s)" in
    Linux) node_os="linux" ;;
    Darwin) node_os="darwin" ;;
    *) fail "no pinned Node 22 for $(uname -s): run the client tests on Linux or macOS" ;;
esac
case "$(uname -m)" in
    x86_64 | amd64) node_arch="x64" ;;
    aarch64 | arm64) node_arch="arm64" ;;
    *) fail "no pinned Node 22 for $(uname -m)" ;;
esac
NODE_PKG="node-$node_os-$node_arch"
NODE="$DEST/node22/node_modules/$NODE_PKG/bin/node"

# The version an installed package declares, or nothing.
installed_version() { # prefix package
    local manifest="$1/node_modules/$2/package.json"
    [ -f "$manifest" ] || return 0
    sed -n 's/^  "version": "\(.*\)",\{0,1\}$/\1/p' "$manifest" | head -n 1
}

# npm install PACKAGE@VERSION into PREFIX unless it is there at that version. Extra arguments go to npm.
install_pinned() { # prefix package version [npm args...]
    local prefix="$1" package="$2" version="$3"
    shift 3
    if [ "$(installed_version "$prefix" "$package")" = "$version" ]; then
        echo "$package $version already installed in $prefix"
        return 0
    fi
    echo "installing $package@$version into $prefix"
    rm -rf "$prefix"
    mkdir -p "$prefix"
    if ! timeout "$INSTALL_TIMEOUT" npm install --prefix "$prefix" --no-fund --no-audit --no-save \
        --no-update-notifier "$@" "$package@$version"; then
        rm -rf "$prefix"
        fail "could not install $package@$version from the npm registry (network, or the version is gone?)"
    fi
    [ "$(installed_version "$prefix" "$package")" = "$version" ] ||
        fail "$package@$version did not install into $prefix (see npm's output above)"
}

# A wrapper in $BIN, so the tests run every client the same way. Its paths are relative to .tools/clients, so
# it keeps working wherever that folder is reached from (each worktree's .tools is a symlink to a shared one).
write_wrapper() { # name path-under-DEST...
    local name="$1"
    shift
    local target="$BIN/$name" tmp part
    tmp="$(mktemp "$BIN/.$name.XXXXXX")"
    {
        echo '#!/bin/sh'
        echo '# Written by tests/setup/25-mcp-clients.sh'
        echo 'here="$(cd "$(dirname "$0")/.." && pwd)"'
        printf 'exec'
        for part in "$@"; do printf ' "$here/%s"' "$part"; done
        echo ' "$@"'
    } >"$tmp"
    chmod 0755 "$tmp"
    mv -f "$tmp" "$target"
}

mkdir -p "$BIN"

install_pinned "$DEST/node22" "$NODE_PKG" "$NODE_VERSION"
[ -x "$NODE" ] || fail "$NODE_PKG@$NODE_VERSION has no bin/node at $NODE"

# Gemini CLI and Qwen Code are bundled JavaScript; their optional native add-ons (a pty, the clipboard, sharp)
# are not needed to list MCP servers, and skipping them keeps the install small and free of compilers.
install_pinned "$DEST/gemini" "@google/gemini-cli" "$GEMINI_VERSION" --omit=optional --ignore-scripts
install_pinned "$DEST/qwen" "@qwen-code/qwen-code" "$QWEN_VERSION" --omit=optional --ignore-scripts
# opencode and Codex are native binaries in a platform package (an optional dependency); opencode's
# postinstall links its binary into place.
install_pinned "$DEST/opencode" "opencode-ai" "$OPENCODE_VERSION"
install_pinned "$DEST/codex" "@openai/codex" "$CODEX_VERSION"

NODE_REL="node22/node_modules/$NODE_PKG/bin/node"
write_wrapper gemini "$NODE_REL" "gemini/node_modules/@google/gemini-cli/bundle/gemini.js"
write_wrapper qwen "$NODE_REL" "qwen/node_modules/@qwen-code/qwen-code/cli-entry.js"
write_wrapper opencode "opencode/node_modules/.bin/opencode"
write_wrapper codex "$NODE_REL" "codex/node_modules/@openai/codex/bin/codex.js"

# Each must start and print its version, offline, in a throw-away HOME.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
for name in gemini qwen opencode codex; do
    if ! out="$(cd "$scratch" && env -i PATH="/usr/bin:/bin" HOME="$scratch" XDG_CONFIG_HOME="$scratch/.config" \
        XDG_DATA_HOME="$scratch/.local/share" XDG_CACHE_HOME="$scratch/.cache" \
        XDG_STATE_HOME="$scratch/.local/state" NO_UPDATE_NOTIFIER=1 \
        timeout 60 "$BIN/$name" --version </dev/null 2>&1)"; then
        fail "$name was installed but does not start: $out"
    fi
    echo "$name: $(printf '%s\n' "$out" | tail -n 1)"
done
