"""Confinement: which files the material tools may read, judged before a single byte goes to a model.

A path is readable only inside an allowed folder: the client's roots (MCP `roots/list`; Claude Code sends its
working folder) or a folder the user listed in `allowed_folders`. Paths are judged after resolving symlinks, so a
link that points out of a root is refused. Inside a root a file is still refused, with the reason kept for the
result, when it is secret-shaped (the deny list below, or content such as a private-key block), binary, not UTF-8
text, or over the size cap. Folders and globs honour `.gitignore` files (each folder's, matched with `pathspec`'s
git rules). `material_allow` patterns lift the deny list and `.gitignore` for the paths they match.
"""

from __future__ import annotations

import functools
import os
import re
import urllib.parse
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import MaterialError

if TYPE_CHECKING:  # imported when a spec is first built: tens of ms the server's start need not pay
    import pathspec

# Refused by default: secrets and credential stores, matched with git's wildcard rules against the path
# relative to its root. Each entry names its reason.
DENY: tuple[tuple[str, str], ...] = (
    (".env", "environment file (often holds secrets)"),
    (".env.*", "environment file (often holds secrets)"),
    (".envrc", "environment file (often holds secrets)"),
    ("*.pem", "key or certificate file"),
    ("*.key", "key file"),
    ("*.p12", "key store"),
    ("*.pfx", "key store"),
    ("*.jks", "key store"),
    ("*.keystore", "key store"),
    ("id_rsa*", "SSH key"),
    ("id_dsa*", "SSH key"),
    ("id_ecdsa*", "SSH key"),
    ("id_ed25519*", "SSH key"),
    (".ssh/", "SSH folder"),
    (".gnupg/", "GnuPG keyring"),
    (".netrc", "credentials (.netrc)"),
    ("_netrc", "credentials (.netrc)"),
    (".git-credentials", "git credential store"),
    (".aws/credentials", "AWS credential store"),
    (".aws/config", "AWS configuration"),
    (".docker/config.json", "Docker credential store"),
    (".kube/config", "Kubernetes credentials"),
    (".config/gcloud/", "Google Cloud credentials"),
    ("*.keychain", "keychain"),
    ("*.keychain-db", "keychain"),
    ("*.kdbx", "password database"),
    ("credentials.json", "credentials file"),
    ("*.tfstate", "Terraform state (holds secrets)"),
    (".git/", "git internals"),
)
# Generated folders skipped in folder walks and globs even without a .gitignore (a site-packages tree, a fresh
# checkout): caches and installed dependencies are never what a question is about.
GENERATED = frozenset({"__pycache__", "node_modules", ".venv", ".tox", ".mypy_cache", ".pytest_cache", ".ruff_cache"})
# Package-manager files that are fine to read unless they carry a token.
TOKEN_FILES = frozenset({".npmrc", ".pypirc", ".yarnrc", ".yarnrc.yml", "pip.conf"})
_TOKEN_LINE = re.compile(r"(?im)^\s*[^#;\n]*(_authtoken|_auth|password|token)\s*[=:]")
_PRIVATE_KEY = re.compile(rb"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")
SNIFF_BYTES = 8192
SKIPPED_SHOWN = 60  # the result lists at most this many skipped paths, then a count
_Take = Callable[[Path, str], None]


@dataclass(frozen=True)
class Document:
    """A file (or pasted text) that passed every check, ready to go to a model."""

    path: str  # shown to the model and in the result: relative to its root when inside one
    text: str
    size: int  # bytes read


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


@dataclass
class Gathered:
    documents: list[Document] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def bytes_read(self) -> int:
        return sum(d.size for d in self.documents)


def roots_from_uris(uris: Iterable[str]) -> list[Path]:
    """Folders from MCP root URIs (`file:///home/me/project`); other schemes are ignored."""
    found: list[Path] = []
    for uri in uris:
        parsed = urllib.parse.urlsplit(uri)
        if parsed.scheme == "file" and parsed.path:
            found.append(Path(urllib.parse.unquote(parsed.path)))
    return found


def _gitignore_spec(lines: Iterable[str]) -> pathspec.GitIgnoreSpec:
    """Patterns read with git's rules; pathspec is imported here, by the first material tool that needs it."""
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines(lines)


@functools.cache
def _deny_specs() -> tuple[tuple[pathspec.GitIgnoreSpec, str], ...]:
    """The deny list compiled once per process (every tool call builds a `Confinement`)."""
    return tuple((_gitignore_spec([pattern]), reason) for pattern, reason in DENY)


def _is_within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _has_glob(text: str) -> bool:
    return any(ch in text for ch in "*?[")


class _Ignores:
    """`.gitignore` decisions, reading each folder's file once per call."""

    def __init__(self) -> None:
        self._specs: dict[Path, pathspec.GitIgnoreSpec | None] = {}

    def _spec(self, folder: Path) -> pathspec.GitIgnoreSpec | None:
        if folder not in self._specs:
            try:
                lines = (folder / ".gitignore").read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                lines = []
            self._specs[folder] = _gitignore_spec(lines) if lines else None
        return self._specs[folder]

    def ignored(self, path: Path, root: Path, is_dir: bool) -> bool:
        """Whether git would ignore `path` (inside `root`): the deepest `.gitignore` with a verdict wins."""
        verdict: bool | None = None
        folder = root
        parts = path.relative_to(root).parts
        for depth in range(len(parts)):
            spec = self._spec(folder)
            if spec is not None:
                rel = "/".join(parts[depth:]) + ("/" if is_dir else "")
                result = spec.check_file(rel)
                if result.include is not None:
                    verdict = result.include
            folder = folder / parts[depth]
        return bool(verdict)


class Confinement:
    """The rules for one tool call: the allowed folders and the caps.

    Args:
        roots: the client's roots and the user's allowed folders (resolved here).
        allow_patterns: gitignore-style patterns whose matches skip the deny list and `.gitignore`.
        max_file_bytes: larger files are skipped.
        max_total_bytes: the call stops reading past this total.
    """

    def __init__(
        self,
        roots: Sequence[Path],
        *,
        allow_patterns: Sequence[str] = (),
        max_file_bytes: int = 2_000_000,
        max_total_bytes: int = 16_000_000,
    ) -> None:
        unique: list[Path] = []
        for root in roots:
            resolved = root.expanduser().resolve()
            if resolved.is_dir() and resolved not in unique:
                unique.append(resolved)
        self.roots = unique
        self.max_file_bytes = max_file_bytes
        self.max_total_bytes = max_total_bytes
        self._allow = _gitignore_spec(allow_patterns) if allow_patterns else None
        self._deny = _deny_specs()
        self._ignores = _Ignores()

    # -- where ------------------------------------------------------------------------------------------

    def _roots_text(self) -> str:
        return ", ".join(str(r) for r in self.roots) if self.roots else "(none)"

    def outside_error(self, raw: str) -> MaterialError:
        return MaterialError(
            f"{raw} is outside the folders this server may read. Allowed: {self._roots_text()}. Pass a path "
            "inside one of them, or ask the user to add its folder to `allowed_folders` in the app's settings "
            "(`ollama-mcp-tray config set allowed_folders ...`)."
        )

    def root_of(self, path: Path) -> Path | None:
        """The allowed folder holding `path` (already resolved), the deepest one when they nest."""
        holders = [r for r in self.roots if _is_within(path, r)]
        return max(holders, key=lambda r: len(r.parts)) if holders else None

    def display(self, path: Path) -> str:
        root = self.root_of(path)
        if root is None:
            return str(path)
        rel = path.relative_to(root).as_posix()
        return rel if len(self.roots) == 1 else f"{root.name}/{rel}" if rel != "." else root.name

    def locate(self, raw: str) -> Path:
        """An argument path made absolute (relative to the first root) and resolved, checked to be inside.

        Raises:
            MaterialError: no allowed folder, the path does not exist, or it lies outside every allowed folder.
        """
        if not self.roots:
            raise MaterialError(
                "This server may read no folder yet: the client sent no roots and `allowed_folders` is empty. "
                "Ask the user to add a folder to `allowed_folders` in the app's settings, or pass the text itself."
            )
        given = Path(raw).expanduser()
        candidate = given if given.is_absolute() else self.roots[0] / given
        try:
            resolved = candidate.resolve(strict=True)
        except (OSError, RuntimeError) as exc:
            # Say "outside" before "missing" so nothing is learned about folders one may not read.
            if self.root_of(Path(os.path.abspath(candidate))) is None:
                raise self.outside_error(raw) from exc
            raise MaterialError(f"{raw} does not exist (looked for {candidate}).") from exc
        if self.root_of(resolved) is None:
            raise self.outside_error(raw)
        return resolved

    # -- what -------------------------------------------------------------------------------------------

    def _allowed(self, rel: str) -> bool:
        return self._allow is not None and self._allow.match_file(rel)

    def deny_reason(self, path: Path, is_dir: bool = False) -> str | None:
        """Why the deny list refuses `path` (resolved, inside a root), or None."""
        root = self.root_of(path)
        rel = path.relative_to(root).as_posix() if root else path.name
        rel += "/" if is_dir else ""
        if self._allowed(rel):
            return None
        for spec, reason in self._deny:
            if spec.match_file(rel):
                return reason
        return None

    def ignored(self, path: Path, is_dir: bool = False) -> bool:
        root = self.root_of(path)
        if root is None or path == root:
            return False
        rel = path.relative_to(root).as_posix() + ("/" if is_dir else "")
        return not self._allowed(rel) and self._ignores.ignored(path, root, is_dir)

    def read(self, path: Path, shown: str) -> Document | Skipped:
        """Read one resolved file inside a root, or say why not."""
        reason = self.deny_reason(path)
        if reason is not None:
            return Skipped(shown, f"refused: {reason}")
        try:
            size = path.stat().st_size
            if size > self.max_file_bytes:
                return Skipped(shown, f"refused: {size} bytes, over the {self.max_file_bytes}-byte cap per file")
            data = path.read_bytes()
        except OSError as exc:
            return Skipped(shown, f"unreadable: {exc.strerror or exc}")
        if b"\0" in data[:SNIFF_BYTES]:
            return Skipped(shown, "refused: binary file")
        if _PRIVATE_KEY.search(data):
            return Skipped(shown, "refused: holds a private key")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return Skipped(shown, "refused: not UTF-8 text")
        if path.name.lower() in TOKEN_FILES and _TOKEN_LINE.search(text) and not self._allowed(shown):
            return Skipped(shown, "refused: holds a token or password")
        return Document(shown, text, len(data))

    def gather(self, items: Sequence[str], *, limit_files: int = 2000) -> Gathered:
        """Read the files, folders and globs in `items` (each a path relative to the first root, or absolute).

        Raises:
            MaterialError: an item lies outside the allowed folders, or a named path does not exist.
        """
        out = Gathered()
        seen: set[Path] = set()
        total = 0

        def take(path: Path, shown: str) -> None:
            nonlocal total
            if path in seen:
                return
            seen.add(path)
            if len(out.documents) >= limit_files:
                out.skipped.append(Skipped(shown, f"not read: more than {limit_files} files in one call"))
                return
            if total >= self.max_total_bytes:
                out.skipped.append(Skipped(shown, f"not read: the {self.max_total_bytes}-byte total was reached"))
                return
            got = self.read(path, shown)
            if isinstance(got, Document):
                total += got.size
                out.documents.append(got)
            else:
                out.skipped.append(got)

        for raw in items:
            if _has_glob(raw):
                self._glob(raw, take, out)
                continue
            path = self.locate(raw)
            if path.is_dir():
                self._walk(path, take, out)
            else:
                take(path, self.display(path))
        return out

    def _link_target(self, entry: Path, shown: str, out: Gathered) -> Path | None:
        """A symlink's target when it stays inside the allowed folders; else a skip is recorded."""
        try:
            target = entry.resolve(strict=True)
        except (OSError, RuntimeError):
            out.skipped.append(Skipped(shown, "refused: broken symlink"))
            return None
        if self.root_of(target) is None:
            out.skipped.append(Skipped(shown, "refused: symlink pointing outside the allowed folders"))
            return None
        return target

    def _walk(self, top: Path, take: _Take, out: Gathered) -> None:
        for folder, dirs, files in os.walk(top, followlinks=False):
            base = Path(folder)
            dirs.sort()
            kept: list[str] = []
            for name in dirs:
                sub = base / name
                shown = self.display(sub) + "/"
                if sub.is_symlink():
                    out.skipped.append(Skipped(shown, "not followed: symlinked folder"))
                elif (reason := self.deny_reason(sub, is_dir=True)) is not None:
                    out.skipped.append(Skipped(shown, f"refused: {reason}"))
                elif self.ignored(sub, is_dir=True):
                    out.skipped.append(Skipped(shown, "ignored by .gitignore"))
                elif name in GENERATED and not self._allowed(self.display(sub) + "/"):
                    out.skipped.append(Skipped(shown, "not read: generated folder"))
                else:
                    kept.append(name)
            dirs[:] = kept
            for name in sorted(files):
                entry = base / name
                shown = self.display(entry)
                if self.ignored(entry):
                    out.skipped.append(Skipped(shown, "ignored by .gitignore"))
                    continue
                target = self._link_target(entry, shown, out) if entry.is_symlink() else entry
                if target is not None:
                    take(target, shown)

    def _glob(self, pattern: str, take: _Take, out: Gathered) -> None:
        if Path(pattern).expanduser().is_absolute():
            parts = Path(pattern).expanduser().parts
            cut = _first_glob(parts)
            base, rest = self.locate(str(Path(*parts[:cut]))), "/".join(parts[cut:])
        else:
            base, rest = self.locate("."), pattern
        matched = False
        for entry in sorted(base.glob(rest)):
            if not entry.is_file() and not entry.is_symlink():
                continue
            matched = True
            shown = self.display(Path(os.path.abspath(entry)))
            parts = entry.relative_to(base).parts
            if ".git" in parts:
                out.skipped.append(Skipped(shown, "refused: git internals"))
                continue
            if GENERATED.intersection(parts[:-1]) and not self._allowed(shown):
                out.skipped.append(Skipped(shown, "not read: generated folder"))
                continue
            if self.ignored(Path(os.path.abspath(entry))):
                out.skipped.append(Skipped(shown, "ignored by .gitignore"))
                continue
            target = self._link_target(entry, shown, out) if entry.is_symlink() else entry.resolve()
            if target is not None:
                take(target, shown)
        if not matched:
            out.skipped.append(Skipped(pattern, "no file matches this pattern"))


def _first_glob(parts: Sequence[str]) -> int:
    return next((i for i, p in enumerate(parts) if _has_glob(p)), len(parts))


def shown_skips(skipped: Sequence[Skipped]) -> list[Skipped]:
    """The skipped entries a result lists: the first `SKIPPED_SHOWN`, then one line counting the rest."""
    if len(skipped) <= SKIPPED_SHOWN:
        return list(skipped)
    rest = len(skipped) - SKIPPED_SHOWN
    return [*skipped[:SKIPPED_SHOWN], Skipped(f"(+{rest} more)", "skipped for the reasons above")]
