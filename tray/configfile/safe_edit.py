"""The careful shell around editing a file other programs also write (Claude Code's config above all).

One edit, in order:
    1. follow a symlink to the file it names (the link stays a link);
    2. take our lock (a lock file in our data folder), so our own processes edit one at a time; then, for
       `~/.claude.json`, Claude Code's own lock (see claude_lock), so Claude Code and we take turns; then
       remove temp files that an earlier run of ours left behind in that folder when it was killed mid-write;
    3. read; a file that does not parse is re-read once it has settled (another program may be halfway
       through a plain, non-atomic write) and, if still broken, refused: left byte-for-byte untouched;
    4. compute the new text with a pure function; nothing to do means no write and no backup. A `Splice`
       (the one span that changes) is written as the bytes read around the new piece: a big file is never
       copied into a second text and encoded again;
    5. write a temp file in the same folder with the original mode (or `new_mode`), and fsync it (in a
       thread, while 6 runs);
    6. keep a timestamped backup (bounded in count and size; none when the newest already holds these bytes)
       in our backups folder;
    7. once the fsync is done, check the file's stat: if it changed underneath, start over from the new
       content (bounded attempts);
    8. put the temp file in place and make sure it displaced exactly the bytes we parsed (see `_swap_in`),
       else start over; fsync the folder; verify the edit is there (the stat of the file still being our
       temp file's proves it; else re-read), else start over.

Programs that ignore Claude Code's lock can still rewrite the file whole at any moment; the checks in 7 and 8
are what keep us from writing back a stale copy over their newer one.

An error of the system (permissions, a read-only or full disk, a symlink loop) ends the edit with
`ConfigFileInaccessible`, which names the file and the fix; the file is left as it was.

Temp files are named `.<file>.<host>-<pid>-<random>.ollama-mcp-tray.tmp`: the suffix marks them as ours,
the host and pid tell whether their writer still runs.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import os
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ollama_mcp_tray.server.paths import make_private_dir

from .claude_lock import LOCKED_NAMES, WAIT, HeldLock, claude_lock
from .errors import ConcurrentEditError, ConfigFileRefused, inaccessible
from .json_document import DocumentError, Splice

Edit = Callable[[str | None], str | Splice | None]
"""Given the current text (None: no file), the new text, or the span of it to change (None: leave the file
as it is)."""

_TMP_SUFFIX = ".ollama-mcp-tray.tmp"
STALE_TEMP_AGE = 600.0
"""Seconds after which a temp file of ours is left over whatever its writer: a write takes milliseconds."""


def _host_tag() -> str:
    # A home folder can be shared between machines (NFS): a pid means something only on its own host.
    node = os.uname().nodename if hasattr(os, "uname") else os.environ.get("COMPUTERNAME", "")
    return f"{zlib.crc32(node.encode('utf-8', 'surrogateescape')):08x}"


_HOST = _host_tag()
_HEX = frozenset("0123456789abcdef")
# What tempfile.mkstemp put between the name and our suffix before the writer's pid was part of the name.
_LEGACY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")


def _temp_writer(middle: str) -> tuple[str, int] | None:
    """The (host tag, pid) in the `<host>-<pid>-<random>` part of one of our temp names, else None.
    (Parsed by hand: compiling a regex would cost the CLI's start more than all this.)"""
    host, _, rest = middle.partition("-")
    pid, _, token = rest.partition("-")
    if len(host) == len(token) == 8 and set(host) <= _HEX and set(token) <= _HEX and pid.isdigit() and pid.isascii():
        return host, int(pid)
    return None


@dataclass(frozen=True)
class EditOutcome:
    """What an edit did. `path` is the file written (a symlink's target)."""

    path: Path
    changed: bool
    backup: Path | None = None
    attempts: int = 1


def resolve_target(path: Path) -> Path:
    """The file an edit of `path` must write: symlinks followed (also to a target that does not exist yet)."""
    return Path(os.path.realpath(path))


def _read(path: Path) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def _stat(path: Path) -> os.stat_result | None:
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None


def _identity(st: os.stat_result) -> tuple[int, int, int]:
    """Which file, and which version of it: inode, size, mtime."""
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _key(st: os.stat_result | None) -> tuple[int, int, int, int] | None:
    """`_identity` plus ctime, which moves on every change and cannot be set back by a program (mtime can)."""
    return None if st is None else (*_identity(st), st.st_ctime_ns)


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temp_name(name: str, pid: int | None = None) -> str:
    """A fresh name for our temp file beside the file `name`, written by process `pid` (default: this one)."""
    return f".{name}.{_HOST}-{os.getpid() if pid is None else pid}-{os.urandom(4).hex()}{_TMP_SUFFIX}"


def _create_temp(folder: Path, name: str) -> tuple[int, Path]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    while True:
        tmp = folder / temp_name(name)
        try:
            return os.open(tmp, flags, 0o600), tmp
        except FileExistsError:
            continue


Chunks = tuple[bytes | memoryview, ...]


def _write_all(fd: int, chunks: Chunks) -> None:
    for chunk in chunks:
        view = memoryview(chunk)
        while view:
            view = view[os.write(fd, view) :]


def _join(chunks: Chunks) -> bytes:
    return chunks[0] if len(chunks) == 1 and isinstance(chunks[0], bytes) else b"".join(chunks)


def _new_content(data: bytes | None, text: str | None, change: str | Splice) -> Chunks:
    """The bytes of the edited file, as pieces: a splice re-uses the bytes read around the changed span."""
    if isinstance(change, str):
        return (change.encode("utf-8"),)
    if data is None or text is None:
        return (change.apply(text or "").encode("utf-8"),)
    if text.isascii():  # O(1) for a str; then character and byte offsets agree
        start, end = change.start, change.end
    else:
        start = len(text[: change.start].encode("utf-8"))
        end = start + len(text[change.start : change.end].encode("utf-8"))
    view = memoryview(data)
    return (view[:start], change.insert.encode("utf-8"), view[end:])


def _unchanged(text: str | None, change: str | Splice) -> bool:
    if isinstance(change, str):
        return change == text
    return text is not None and text[change.start : change.end] == change.insert


class _TempFile:
    """Our temp file next to the target: written, then flushed to disk by a thread (fsync releases the GIL),
    so the backup can be written meanwhile."""

    def __init__(self, folder: Path, name: str) -> None:
        self.fd, self.path = _create_temp(folder, name)
        self._syncing: threading.Thread | None = None
        self._error: list[OSError] = []

    def write(self, chunks: Chunks, mode: int, owner: tuple[int, int] | None) -> None:
        _write_all(self.fd, chunks)
        if os.name == "posix":
            os.fchmod(self.fd, mode)
            if owner is not None and os.geteuid() == 0:
                # Root editing a user's file must not hand it over to root.
                os.fchown(self.fd, *owner)

    def start_sync(self) -> None:
        self._syncing = threading.Thread(target=self._sync, name="ollama-mcp-tray-fsync", daemon=True)
        self._syncing.start()

    def _sync(self) -> None:
        try:
            os.fsync(self.fd)
        except OSError as exc:  # handed to finish_sync, on the editing thread
            self._error.append(exc)

    def finish_sync(self) -> None:
        """Wait for the data to be on disk; close the file."""
        if self._syncing is None:
            self._sync()
        else:
            self._syncing.join()
        os.close(self.fd)
        self.fd = -1
        if self._error:
            raise self._error[0]

    def discard(self) -> None:
        """Close (after a running fsync) and remove the temp file, unless it was renamed into place."""
        if self._syncing is not None and self._syncing.is_alive():
            self._syncing.join()
        if self.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = -1
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def _holds(path: Path, data: bytes | None) -> bool:
    """Whether the file at `path` holds exactly `data` (None: no file)."""
    try:
        with open(path, "rb", buffering=0) as handle:
            return data is not None and _same_bytes(handle, data)
    except FileNotFoundError:
        return data is None


def _same_bytes(handle: io.RawIOBase, data: bytes) -> bool:
    # Read in chunks into one small buffer rather than into a second copy of a big file.
    if os.fstat(handle.fileno()).st_size != len(data):
        return False
    buffer = bytearray(max(1, min(len(data), 1 << 20)))
    view = memoryview(data)
    offset = 0
    while True:
        count = handle.readinto(buffer)
        if not count:
            return offset == len(data)
        if offset + count > len(data):
            return False
        chunk = buffer if count == len(buffer) else buffer[:count]
        # bytearray == memoryview compares with memcmp (memoryview == memoryview goes item by item).
        if chunk != view[offset : offset + count]:
            return False
        offset += count


# renameat2(2) (Linux 3.15, glibc 2.28): RENAME_EXCHANGE swaps two names in one step.
_AT_FDCWD = -100
_RENAME_NOREPLACE = 1
_RENAME_EXCHANGE = 2
_RENAMEAT2: list[tuple[Any, Callable[[], int]] | None] = []  # loaded on first use


def _load_renameat2() -> tuple[Any, Callable[[], int]] | None:
    if sys.platform != "linux":
        return None
    import ctypes  # only here: a command that writes nothing need not pay for importing it

    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except AttributeError:  # a libc without it
        return None
    function.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint)
    function.restype = ctypes.c_int
    return function, ctypes.get_errno


def _renameat2(src: Path, dst: Path, flags: int) -> bool:
    """renameat2 with `flags`: True when done, False when this system or file system cannot do that.

    Raises:
        OSError: it can, but refused (FileExistsError: RENAME_NOREPLACE onto a file that exists).
    """
    if not _RENAMEAT2:
        _RENAMEAT2.append(_load_renameat2())
    loaded = _RENAMEAT2[0]
    if loaded is None:
        return False
    function, get_errno = loaded
    if function(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), flags) == 0:
        return True
    code = get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(src), None, str(dst))


def _swap_in(temp: Path, target: Path, based_on: bytes | None, ours: int) -> bool:
    """Put our temp file (inode `ours`) at `target` if that still holds `based_on` (None: no file). False when
    it did not (another program wrote it since we read it): it then holds that program's version, and the
    edit is redone on it.

    Where the system swaps two names in one step (Linux), the check is made after the swap, on the very file
    displaced: a writer that got in just before is caught too, and its version put straight back. Elsewhere
    the check comes right before a plain replace, and a write in between those two steps would be lost.
    """
    if based_on is None:
        try:
            if _renameat2(temp, target, _RENAME_NOREPLACE):
                return True
        except FileExistsError:
            return False
        if os.path.lexists(target):
            return False
        os.replace(temp, target)
        return True
    try:
        swapped = _renameat2(temp, target, _RENAME_EXCHANGE)
    except FileNotFoundError:
        return False  # removed meanwhile: redo the edit on "no file"
    if not swapped:
        if not _holds(target, based_on):
            return False
        os.replace(temp, target)
        return True
    # `temp` now names the file we displaced.
    if _holds(temp, based_on):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        return True
    _renameat2(temp, target, _RENAME_EXCHANGE)  # a newer version: back in place at once; ours back to `temp`
    if os.stat(temp).st_ino != ours:
        # A third writer renamed its file in during those microseconds: theirs is the newest, so it stays.
        os.replace(temp, target)
    return False


def _writer_gone(host: str, pid: int) -> bool:
    """Whether the process that wrote a temp file has ended (only knowable for a pid of this host)."""
    if host != _HOST or os.name != "posix" or pid == os.getpid():
        # On Windows os.kill(pid, 0) would end the process: there, the age rule alone decides.
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # EPERM: alive, another user's
        return False
    return False


def remove_stale_temps(folder: Path, name: str, now: float, max_age: float = STALE_TEMP_AGE) -> list[Path]:
    """Remove the temp files our edits of `folder/name` left behind: those whose writer process is gone, or
    older than `max_age` seconds. Only regular files named as ours (and, on POSIX, owned by us) are touched.

    Returns the files removed.
    """
    prefix = f".{name}."
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return removed
    for entry in entries:
        if not entry.name.startswith(prefix) or not entry.name.endswith(_TMP_SUFFIX):
            continue
        middle = entry.name[len(prefix) : -len(_TMP_SUFFIX)]
        writer = _temp_writer(middle)
        if writer is None and not (len(middle) == 8 and set(middle) <= _LEGACY_CHARS):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except FileNotFoundError:
            continue
        if not entry.is_file(follow_symlinks=False) or (os.name == "posix" and st.st_uid != os.geteuid()):
            continue
        gone = writer is not None and _writer_gone(*writer)
        if gone or now - st.st_mtime > max_age:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


def write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write `data` to `path` all at once: temp file in the same folder, fsync, chmod `mode`, replace."""
    target = resolve_target(path)
    make_private_dir(target.parent)  # a folder we create is 0700; an existing one is left as it is
    temp = _TempFile(target.parent, target.name)
    try:
        temp.write((data,), mode, None)
        temp.finish_sync()
        os.replace(temp.path, target)
    finally:
        temp.discard()
    _fsync_dir(target.parent)


@contextlib.contextmanager
def file_lock(lock_path: Path, timeout: float) -> Iterator[None]:
    """Hold an exclusive lock on `lock_path` (created as needed); wait at most `timeout` seconds.

    Raises:
        ConcurrentEditError: another of our processes held the lock all that time.
    """
    make_private_dir(lock_path.parent, narrow=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout
        waiter = threading.Event()
        while not _try_lock(fd):
            if time.monotonic() >= deadline:
                raise ConcurrentEditError(
                    f"Another ollama-mcp-tray process is editing the same file (lock {lock_path}); "
                    "wait for it to finish and try again.",
                    lock_path,
                )
            # No OS event tells us a flock was released; poll briefly within the deadline.
            waiter.wait(0.02)
        try:
            yield
        finally:
            _unlock(fd)
    finally:
        os.close(fd)


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


def _file_tag(target: Path) -> str:
    digest = hashlib.sha256(str(target).encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{target.name}.{digest}"


@dataclass(frozen=True)
class SafeEditor:
    """Edits files carefully (see the module docstring). Folders and the clock are parameters for tests."""

    backups_dir: Path
    lock_dir: Path
    keep_backups: int = 10
    backups_size_factor: float = 3.0
    backups_size_floor: int = 64 << 20
    lock_timeout: float = 10.0
    claude_lock_wait: float = WAIT
    max_attempts: int = 12
    settle_reads: int = 4
    settle_delay: float = 0.05
    clock: Callable[[], float] = time.time

    def edit(
        self,
        path: Path,
        edit: Edit,
        *,
        new_mode: int = 0o600,
        verify: Callable[[str], bool] | None = None,
    ) -> EditOutcome:
        """Apply `edit` to the file at `path`.

        Args:
            path: the file; a symlink is followed and its target edited.
            edit: pure function from the current text (None: no file) to the new text (None: no change).
                It raises `DocumentError` for a text it cannot work with.
            new_mode: the mode of a file we create; an existing file keeps its own.
            verify: checks the file's text after the write; False means another process undid the edit.

        Raises:
            ConfigFileRefused: the file does not parse (or is not UTF-8); it was not touched.
            ConfigFileInaccessible: the system refused to read or write it; it was not touched.
            ConcurrentEditError: the file kept changing underneath us, or a lock (ours, Claude Code's) stayed
                taken.
        """
        try:
            target = resolve_target(path)
            with (
                file_lock(self.lock_dir / f"{_file_tag(target)}.lock", self.lock_timeout),
                self._claude_lock(path) as held,
            ):
                return self._edit_locked(target, edit, new_mode, verify, held)
        except OSError as exc:
            raise inaccessible(Path(path), exc) from exc

    def _claude_lock(self, path: Path) -> contextlib.AbstractContextManager[HeldLock | None]:
        """Claude Code's lock, for a file it guards with one (taken at the path as given, like Claude Code)."""
        if Path(path).name in LOCKED_NAMES:
            return claude_lock(path, self.claude_lock_wait)
        return contextlib.nullcontext()

    def _edit_locked(
        self,
        target: Path,
        edit: Edit,
        new_mode: int,
        verify: Callable[[str], bool] | None,
        held: HeldLock | None,
    ) -> EditOutcome:
        folder = target.parent
        # Under our lock no edit of ours to this file is under way: a temp file of ours for it is a leftover.
        remove_stale_temps(folder, target.name, self.clock())
        backup: Path | None = None
        backed_up: bytes | None = None
        for attempt in range(1, self.max_attempts + 1):
            before = _stat(target)
            data = _read(target)
            try:
                text = None if data is None else data.decode("utf-8")
                if data is not None and not data.strip() and not self._settled(target, data):
                    continue  # an empty file is how a plain rewrite by another program starts
                change = edit(text)
            except (DocumentError, UnicodeDecodeError) as exc:
                if data is not None and not self._settled(target, data):
                    continue
                raise _refusal(target, exc) from exc
            if change is None or _unchanged(text, change):
                return EditOutcome(target, changed=False, backup=backup, attempts=attempt)
            mode, owner = _mode_and_owner(before, new_mode)
            if before is None:
                make_private_dir(folder)
            written = _new_content(data, text, change)
            temp = _TempFile(folder, target.name)
            try:
                temp.write(written, mode, owner)
                temp.start_sync()
                if data is not None and data != backed_up:
                    backup, backed_up = self._backup(target, data), data
                temp.finish_sync()
                ours = _identity(os.stat(temp.path))
                # The stat, checked after the fsync, catches most changes for free; `_swap_in` compares the
                # bytes (a rewrite can keep size and timestamps).
                if _key(_stat(target)) != _key(before):
                    continue
                if held is not None and held.lost:
                    raise ConcurrentEditError(
                        f"Another program took Claude Code's lock {held.path} while we edited {target}; nothing "
                        "was written. Try again.",
                        target,
                    )
                if not _swap_in(temp.path, target, data, ours[0]):
                    continue
            finally:
                temp.discard()
            _fsync_dir(folder)
            # Still our very file (same inode, size, mtime) is our edit by construction; read only otherwise.
            # (Not ctime: the rename itself moves it.)
            now = _stat(target)
            if now is not None and _identity(now) == ours:
                return EditOutcome(target, changed=True, backup=backup, attempts=attempt)
            after = _read(target)
            if after == _join(written) or (after is not None and verify is not None and _verified(verify, after)):
                return EditOutcome(target, changed=True, backup=backup, attempts=attempt)
        raise ConcurrentEditError(
            f"{target} kept changing while we edited it ({self.max_attempts} attempts). "
            "Another program (Claude Code?) is rewriting it; try again in a moment.",
            target,
        )

    def _settled(self, target: Path, data: bytes) -> bool:
        """True when the file still holds `data` after a short wait: nobody is halfway through writing it."""
        waiter = threading.Event()
        for _ in range(self.settle_reads):
            waiter.wait(self.settle_delay)
            if not _holds(target, data):
                return False
        return True

    def _backup(self, target: Path, data: bytes) -> Path:
        make_private_dir(self.backups_dir, narrow=True)
        tag = _file_tag(target)
        existing = self._backups_of(tag)
        if existing and _holds(existing[-1], data):
            return existing[-1]  # the newest backup already holds these very bytes
        now = self.clock()
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now)) + f".{int(now * 1e6) % 1_000_000:06d}"
        backup = self.backups_dir / f"{tag}.{stamp}.bak"
        counter = 0
        while backup.exists():
            counter += 1
            backup = self.backups_dir / f"{tag}.{stamp}-{counter}.bak"
        # Backups of ~/.claude.json hold the user's history: readable by the user alone.
        fd = os.open(backup, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
        # Written from the bytes we parsed (a kernel-side copy of the live file could pick up a newer
        # version), and not fsynced: until our replace the original file is intact on disk, and the replace
        # waits for our temp file's fsync, so a crash cannot leave both the original and its backup lost.
        try:
            _write_all(fd, (data,))
        finally:
            os.close(fd)
        self._prune(tag, len(data))
        return backup

    def _backups_of(self, tag: str) -> list[Path]:
        """The backups of one file, oldest first (their names carry the time)."""
        return sorted(self.backups_dir.glob(f"{tag}.*.bak"))

    def _prune(self, tag: str, size: int) -> None:
        """Keep the newest backups, at most `keep_backups` of them and, together, at most the larger of
        `backups_size_factor` times the file's size and `backups_size_floor`: the newest few versions are what
        undoing our recent edits needs, and ten copies of a 100 MB file would fill a gigabyte. The newest
        backup is always kept."""
        budget = max(int(self.backups_size_factor * size), self.backups_size_floor)
        kept = total = 0
        for backup in reversed(self._backups_of(tag)):
            try:
                total += backup.stat().st_size
            except FileNotFoundError:
                continue
            kept += 1
            if kept > 1 and (kept > self.keep_backups or total > budget):
                with contextlib.suppress(FileNotFoundError):
                    backup.unlink()


def _verified(verify: Callable[[str], bool], data: bytes) -> bool:
    # Another program's text may not even parse: then it is not our edit.
    try:
        return verify(data.decode("utf-8", "replace"))
    except DocumentError:
        return False


def _mode_and_owner(st: os.stat_result | None, new_mode: int) -> tuple[int, tuple[int, int] | None]:
    if st is None:
        return new_mode, None
    return st.st_mode & 0o7777, (st.st_uid, st.st_gid)


def _refusal(target: Path, exc: DocumentError | UnicodeDecodeError) -> ConfigFileRefused:
    if isinstance(exc, UnicodeDecodeError):
        where, what = f" (byte {exc.start})", "is not UTF-8 text"
    else:
        where = f" (line {exc.line}, column {exc.column})" if exc.line is not None else ""
        what = f"is not valid: {exc}"
    return ConfigFileRefused(
        f"{target}{where} {what}. It was left untouched; fix it (or restore a backup) and try again.",
        target,
    )
