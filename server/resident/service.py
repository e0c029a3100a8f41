"""The resident server: one process per user and app-folder set, one MCP session per relay connection.

Started detached by a relay (`--resident`). First, before anything heavy, it takes the lock file (exits at
once when another resident holds it), then waits a moment so that the in-process session of the relay that
started it gets the CPU, then imports the SDK and listens on its private socket (0600 in a 0700 folder).

Each connection: the peer's uid must be ours, the hello must come from a relay of the same build, then the
stream is that session's MCP stdio. A session has its own configuration, resolved from the environment its
relay sent (key, URL, default model, management switch...), its own capabilities, roots, progress and
cancellations; the Ollama connection pool (one per distinct connection config), the usage log and the model
cache are shared. A session that fails closes its connection only.

A relay of another build makes it retire (unless that relay is older): it stops listening, removes its socket
and releases its lock, so a new resident can start at once, lets its sessions finish, and exits. It also exits
after `idle_seconds` with no session, when its socket was removed or replaced, and on SIGTERM (sessions get
10 s to finish). It logs to the server log only.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import signal
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from .._version import __version__
from .peer import peer_uid
from .places import PlaceError, Places, idle_seconds
from .wire import MAX_HELLO_BYTES, RelayHello, SessionReply, StatusReply, WireError, build_fingerprint, version_tuple

log = logging.getLogger("ollama_mcp_tray.resident")

HELLO_S = 5.0  # a connection that says nothing for this long is dropped
TERM_GRACE_S = 10.0  # on SIGTERM, sessions get this long to finish
WATCH_S = 1.0  # how often the idle timer and the socket are looked at
DEFAULT_WARMUP_S = 3.0  # measured: at 1 s its imports slowed the in-process start (~1 s here) by up to 26%


@dataclass
class Lock:
    """The resident's lock file, held (flock) for as long as it may take sessions."""

    fd: int | None

    @classmethod
    def take(cls, places: Places) -> Lock | None:
        """The lock, or None when another resident holds it.

        Raises:
            OSError: the lock file cannot be opened.
        """
        fd = os.open(places.lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
        try:
            os.fchmod(fd, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        return cls(fd)

    def release(self) -> None:
        if self.fd is not None:
            fd, self.fd = self.fd, None
            os.close(fd)  # closing releases the flock


def bind_private(path: str) -> tuple[socket.socket, int]:
    """A listening Unix socket at `path` that only this user can connect to; (socket, its inode).

    Raises:
        OSError: it cannot be bound.
    """
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)  # we hold the lock: a socket file here is left over from a resident that died
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)  # born 0600: no moment where another user could connect
    try:
        sock.bind(path)
    except OSError:
        sock.close()
        raise
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    sock.listen(64)
    return sock, os.stat(path).st_ino


def _connection_key(config: Any) -> tuple[Any, ...]:
    """What an Ollama connection pool depends on (see OllamaClient.__init__): sessions that agree share one."""
    return (config.base_url, config.key, config.key_header, config.auth_scheme, config.ca_file, config.timeouts)


@dataclass
class Resident:
    places: Places
    lock: Lock
    sock: socket.socket
    inode: int
    idle_s: float
    build: str = field(default_factory=build_fingerprint)
    started: float = field(default_factory=time.time)
    sessions: int = 0
    retiring: bool = False

    def __post_init__(self) -> None:
        from ..paths import AppPaths
        from ..usage import UsageLog

        dirs = self.places.dirs
        self.paths = AppPaths(config_dir=dirs.config_dir, data_dir=dirs.data_dir, log_dir=dirs.log_dir)
        self.usage = UsageLog(self.paths.usage_file)
        self.clients: dict[tuple[Any, ...], Any] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.idle_since = time.monotonic()
        self.term_deadline: float | None = None
        self.done = asyncio.Event()
        self.server: asyncio.AbstractServer | None = None

    # -- life --

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        self.server = await asyncio.start_unix_server(self._connection, sock=self.sock, limit=64 << 20)
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._terminate)
        log.info("Resident %s (pid %d) listening on %s", self.build, os.getpid(), self.places.socket)
        watcher = asyncio.create_task(self._watch())
        try:
            await self.done.wait()
        finally:
            watcher.cancel()
            self.retire("stopping")
            for task in list(self.tasks):
                task.cancel()
            if self.tasks:
                await asyncio.wait(self.tasks, timeout=2.0)
            for client in self.clients.values():
                with contextlib.suppress(Exception):
                    await client.aclose()
            self.usage.close()
            log.info("Resident (pid %d) stopped", os.getpid())

    def _terminate(self) -> None:
        log.info("Resident: asked to stop; %d session(s) get %.0f s to finish", self.sessions, TERM_GRACE_S)
        self.retire("asked to stop")
        self.term_deadline = time.monotonic() + TERM_GRACE_S

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(WATCH_S)
            now = time.monotonic()
            if not self.retiring and not self._socket_is_ours():
                self.retire("its socket was removed or replaced")
            if self.sessions == 0 and (self.retiring or now - self.idle_since >= self.idle_s):
                if not self.retiring:
                    self.retire(f"no session for {self.idle_s:.0f} s")
                self.done.set()
                return
            if self.term_deadline is not None and now >= self.term_deadline:
                self.done.set()
                return

    def _socket_is_ours(self) -> bool:
        try:
            return os.stat(self.places.socket).st_ino == self.inode
        except OSError:
            return False

    def retire(self, why: str) -> None:
        """Take no new session: stop listening, remove the socket if it is still ours, release the lock (a new
        resident may start now); the sessions running finish, then the resident exits."""
        if self.retiring:
            return
        self.retiring = True
        log.info("Resident retiring (%s); %d session(s) still running", why, self.sessions)
        if self.server is not None:
            self.server.close()
        if self._socket_is_ours():
            with contextlib.suppress(OSError):
                os.unlink(self.places.socket)
        with contextlib.suppress(OSError):
            self.sock.close()
        self.lock.release()

    # -- connections --

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self.tasks.add(task)
        try:
            await self._converse(reader, writer)
        except Exception:  # one session's failure must close its connection only
            log.exception("Resident: a session failed; its connection is closed")
        finally:
            if task is not None:
                self.tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _converse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raw = writer.get_extra_info("socket")
        uid = peer_uid(cast(socket.socket, raw)) if raw is not None else None
        if uid is not None and uid != os.getuid():
            log.warning("Resident: refused a connection from uid %d", uid)
            return
        try:
            line = await asyncio.wait_for(reader.readline(), HELLO_S)
            if len(line) > MAX_HELLO_BYTES:
                raise WireError("hello too long")
            hello = RelayHello.decode(line)
        except (asyncio.TimeoutError, ValueError, WireError, ConnectionError) as exc:
            log.warning("Resident: dropped a connection without a valid hello (%s)", exc)
            return
        if hello.op in ("status", "keep"):
            if hello.op == "keep" and self.sessions == 0:
                self.idle_since = time.monotonic()  # a tray keeps it warm: no idle exit while it asks
            writer.write(self._status().encode())
            await writer.drain()
            return
        refusal = self._refusal(hello)
        if refusal is not None:
            writer.write(refusal.encode())
            await writer.drain()
            return
        self.sessions += 1
        try:
            writer.write(SessionReply(__version__, self.build, os.getpid(), accepted=True).encode())
            await writer.drain()
            log.info(
                "Resident: session for relay pid %d (%d running; env: %s)",
                hello.pid, self.sessions, ", ".join(sorted(hello.env)) or "none",
            )  # fmt: skip
            await self._session(hello.env, reader, writer)
        finally:
            self.sessions -= 1
            if self.sessions == 0:
                self.idle_since = time.monotonic()

    def _status(self) -> StatusReply:
        return StatusReply(
            version=__version__, build=self.build, pid=os.getpid(), sessions=self.sessions,
            started=self.started, uptime_s=round(time.time() - self.started, 3), retiring=self.retiring,
        )  # fmt: skip

    def _refusal(self, hello: RelayHello) -> SessionReply | None:
        if self.retiring:
            return SessionReply(__version__, self.build, os.getpid(), False, "retiring", "this resident is stopping")
        if hello.build == self.build:
            return None
        if version_tuple(hello.version) < version_tuple(__version__):
            detail = f"this resident is {self.build}, newer than the relay's {hello.build}"
            log.info("Resident: refused an older relay (%s)", hello.build)
            return SessionReply(__version__, self.build, os.getpid(), False, "version", detail)
        # Retire before answering: the relay starts the new resident right after our answer.
        self.retire(f"a relay of build {hello.build} asked for a session")
        detail = f"this resident is {self.build}, the relay is {hello.build}: retiring"
        return SessionReply(__version__, self.build, os.getpid(), False, "version", detail)

    async def _session(
        self, env: Mapping[str, str], reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        from mcp.server.stdio import stdio_server

        from ..app import build_server, follows
        from ..config import ServerConfig, resolve_config
        from ..errors import ConfigError
        from ..ollama_client import OllamaClient
        from ..stdio_transport import PipeLines, PipeWriter

        config_error: ConfigError | None = None
        try:
            config = resolve_config(env=env, paths=self.paths)
        except ConfigError as exc:
            log.error("%s", exc)
            config, config_error = ServerConfig(), exc
        client = None
        if config_error is None:
            key = _connection_key(config)
            client = self.clients.get(key)
            if client is None:
                client = self.clients[key] = OllamaClient(config)
        follow, management = follows(env)
        server = build_server(
            config, self.paths, config_error=config_error, follow_settings=follow, follow_management=management,
            follow_connection=config_error is None, env=env, shared_client=client, shared_usage=self.usage,
        )  # fmt: skip
        lowlevel = server._lowlevel_server
        async with stdio_server(PipeLines(reader), PipeWriter(writer)) as (read_stream, write_stream):  # type: ignore[arg-type]
            await lowlevel.run(read_stream, write_stream, lowlevel.create_initialization_options())


def _warm_up() -> None:
    """Import the SDK and build one server (tools, schemas), so the first session costs what the others do."""
    from mcp.server.stdio import stdio_server  # noqa: F401 - imported for the sessions to come

    from ..app import build_server
    from ..config import ServerConfig
    from ..errors import ConfigError

    build_server(ServerConfig(), None, config_error=ConfigError("warming up"), refresh_models=False)


def run_resident(env: Mapping[str, str] | None = None) -> int:
    """The `--resident` process: 0 when it ran (or another resident already holds the lock), 1 when it cannot."""
    env = os.environ if env is None else env
    try:
        places = Places.from_env(env)
        places.ensure_socket_dir()
        lock = Lock.take(places)
    except (OSError, KeyError, PlaceError):
        return 1  # nowhere to log yet; the relay serves in-process meanwhile
    if lock is None:
        return 0
    try:
        warmup = float(env.get("OLLAMA_MCP_RESIDENT_WARMUP_S", "") or DEFAULT_WARMUP_S)
    except ValueError:
        warmup = DEFAULT_WARMUP_S
    time.sleep(max(0.0, min(warmup, 10.0)))  # let the session that started us have the CPU first

    from ..logs import setup_logging

    setup_logging(places.server_log, env.get("OLLAMA_MCP_LOG_LEVEL", "INFO").upper(), stderr=False)
    _warm_up()  # before listening: a relay that connects is answered at once, not after the imports
    try:
        sock, inode = bind_private(str(places.socket))
    except OSError as exc:
        log.error("Resident: cannot listen on %s: %s", places.socket, exc)
        lock.release()
        return 1
    resident = Resident(places, lock, sock, inode, idle_seconds(env, places.settings_file))

    import anyio

    with contextlib.suppress(KeyboardInterrupt):
        anyio.run(resident.serve)
    return 0
