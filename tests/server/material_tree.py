"""A project tree for the material tools' tests: nested folders, secrets, a binary, a huge file, a .gitignore,
a symlink pointing out of the project, and a real git repository with uncommitted and staged changes."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

SECRETS = (b"hunter2-env-secret", b"OUTSIDE-SECRET-42", b"PRIVATE KEY", b"npm_TOKEN_abc123", b"IGNORED-BUILD-BYTES")
HUGE_BYTES = 300_000  # over the 200_000-byte cap the tests configure


@dataclass(frozen=True)
class Tree:
    root: Path
    outside: Path


def _git(root: Path, *args: str) -> None:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(
        ["git", "-c", "user.name=T", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main", *args],
        cwd=root,
        check=True,
        capture_output=True,
        env=env,
        timeout=30,
    )


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def make_tree(base: Path) -> Tree:
    root, outside = base / "project", base / "elsewhere"
    write(outside / "secret.txt", "OUTSIDE-SECRET-42\n")
    write(root / "README.md", "# Demo\n\nA demo project.\n\n## Use\n\nRun `demo`.\n")
    write(root / "src" / "app.py", "def main():\n    return 'app'\n\n\nclass Service:\n    pass\n")
    write(root / "src" / "pkg" / "util.py", "def helper(x):\n    return x * 2\n")
    write(root / "src" / "pkg" / "deep" / "leaf.py", "LEAF = 'leaf'\n")
    write(root / ".env", "API_KEY=hunter2-env-secret\n")
    write(root / "keys" / "id_rsa", "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n")
    write(root / ".npmrc", "//registry.npmjs.org/:_authToken=npm_TOKEN_abc123\n")
    write(root / "image.bin", b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR" + bytes(range(256)))
    write(root / "huge.txt", "x" * (HUGE_BYTES - 1) + "\n")
    write(root / ".gitignore", "build/\n*.tmp\n")
    write(root / "build" / "out.py", "IGNORED-BUILD-BYTES = 1\n")
    write(root / "notes.tmp", "IGNORED-BUILD-BYTES\n")
    (root / "link_out.txt").symlink_to(outside / "secret.txt")
    (root / "link_in.txt").symlink_to(root / "README.md")
    _git(root, "init", "-q")
    _git(root, "add", "README.md", "src", ".gitignore", ".env")
    _git(root, "commit", "-q", "-m", "first")
    write(root / "src" / "app.py", "def main():\n    return 'app v2'  # changed\n\n\nclass Service:\n    pass\n")
    write(root / ".env", "API_KEY=hunter2-env-secret-rotated\n")
    write(root / "src" / "pkg" / "util.py", "def helper(x):\n    return x * 3\n")
    _git(root, "add", "src/pkg/util.py")
    return Tree(root, outside)
