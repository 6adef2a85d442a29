"""One shared, pipelined Redis connection per process: how the storage classes send commands.

redis-py lends each command a pooled connection of its own, so every command pays its own
write and read system calls and some 25 µs of Python (pool, retry, timeout and parser
layers): 38 µs of client CPU per command with 12 callers at once. Here every caller shares
one connection. Commands queued during one event-loop turn leave in one write; Redis
answers a connection's commands in order, so each reply goes to the oldest waiting caller.
Same 12 callers: 6 µs per command (``scripts/bench_redis_client.py``).

Replies are raw RESP2 values (bytes, ints, lists; no redis-py response callbacks). Errors
are redis-py's exception classes, so callers and the API's error mapping need nothing new:
an error reply raises its ``ResponseError`` subclass, a dead link ``ConnectionError``, a
reply later than ``socket_timeout`` ``TimeoutError``. After a failure the next command
connects afresh (a restarted Redis needs no restart of ours). A command is never re-sent
once written: only connecting is retried.

redis-py stays where a library needs its client: RedisVL index management, FT.AGGREGATE
cursors, key scans, Docket.
"""

from __future__ import annotations

import asyncio
import hashlib
import ssl
from collections import deque
from collections.abc import Sequence
from typing import Any

import hiredis
from redis.asyncio import Redis, SSLConnection, UnixDomainSocketConnection
from redis.exceptions import (
    AuthenticationError,
    ConnectionError,
    DataError,
    InvalidResponse,
    NoScriptError,
    RedisError,
    TimeoutError,
)
from redis._parsers.base import BaseParser

_CONNECT_ATTEMPTS = 3
_CONNECT_BACKOFF = 0.01  # seconds, doubled per attempt


def pack(args: Sequence[Any]) -> bytes:
    """One command in RESP, arguments encoded as redis-py does (bool and None refused)."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, bytes):
            value = arg
        elif isinstance(arg, str):
            value = arg.encode()
        elif isinstance(arg, int) and not isinstance(arg, bool):
            value = b"%d" % arg
        elif isinstance(arg, float):
            value = repr(arg).encode()
        elif isinstance(arg, memoryview):
            value = arg.tobytes()
        else:
            raise DataError(f"Invalid input of type: {type(arg).__name__!r}. "
                            "Convert to a bytes, string, int or float first.")
        out.append(b"$%d\r\n%b\r\n" % (len(value), value))
    return b"".join(out)


class Packed(bytes):
    """A command already in RESP (see :func:`pack`): :meth:`Mux.batch` sends it as is.
    For hot commands whose arguments are mostly constant (their tail packed once)."""


def _packed(command: Sequence[Any]) -> bytes:
    return command if isinstance(command, Packed) else pack(command)


def _raise_error(reply: Any) -> Any:
    if isinstance(reply, RedisError):
        raise reply
    return reply


class _Link(asyncio.Protocol):
    """One live connection: queues packed commands, flushes them once per loop turn, hands
    replies out in order and fails everything waiting when it dies or a reply is late."""

    def __init__(self, loop: asyncio.AbstractEventLoop, timeout: float | None) -> None:
        self.loop = loop
        self.timeout = timeout
        self.reader = hiredis.Reader(protocolError=InvalidResponse,
                                     replyError=BaseParser.parse_error)
        self.waiting: deque[tuple[asyncio.Future[Any], float]] = deque()
        self.out: list[bytes] = []
        self.flushing = False
        self.transport: asyncio.Transport | None = None
        self.lost: RedisError | None = None
        self.timer: asyncio.TimerHandle | None = None

    # -- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        waiting = self.waiting
        while True:
            try:
                reply = self.reader.gets()
            except InvalidResponse as exc:
                self.fail(ConnectionError, f"Protocol error from Redis: {exc}")
                return
            if reply is False:
                return
            if not waiting:  # a reply nobody asked for: the stream cannot be trusted
                self.fail(ConnectionError, "Unexpected reply from Redis")
                return
            future = waiting.popleft()[0]
            if not future.done():  # its caller may have been cancelled
                future.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.fail(ConnectionError, f"Connection to Redis lost: {exc or 'closed by the server'}")

    # -- sending -----------------------------------------------------------------------------

    def send(self, packed: Sequence[bytes]) -> list[asyncio.Future[Any]]:
        """Queue commands; their futures resolve to the raw replies (errors as values)."""
        if self.lost is not None:
            raise type(self.lost)(str(self.lost))
        deadline = self.loop.time() + (self.timeout or 0.0)
        futures = []
        for command in packed:
            future = self.loop.create_future()
            self.waiting.append((future, deadline))
            futures.append(future)
        self.out.extend(packed)
        if not self.flushing:
            self.flushing = True
            self.loop.call_soon(self._flush)
        if self.timer is None and self.timeout:
            self.timer = self.loop.call_at(deadline, self._check_late)
        return futures

    def _flush(self) -> None:
        self.flushing = False
        if self.lost is None and self.out and self.transport is not None:
            self.transport.write(b"".join(self.out))
        self.out.clear()

    def _check_late(self) -> None:
        self.timer = None
        if not self.waiting or self.lost is not None:
            return
        deadline = self.waiting[0][1]
        if self.loop.time() >= deadline:
            self.fail(TimeoutError, "Timeout reading from Redis")
        else:
            self.timer = self.loop.call_at(deadline, self._check_late)

    def fail(self, kind: type[RedisError], message: str) -> None:
        """Mark the link dead, close it and give every waiting caller its own error."""
        if self.lost is None:
            self.lost = kind(message)
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.transport is not None:
            self.transport.abort()
        while self.waiting:
            future = self.waiting.popleft()[0]
            if not future.done():
                future.set_result(kind(message))
        self.out.clear()


class Mux:
    """The process's shared connection (made on first use, remade after a failure).

    Args:
        address: ``(host, port)`` or a Unix socket path.
        db, username, password: Sent once per connection (SELECT, AUTH).
        ssl_context: For ``rediss://``.
        timeout: Seconds a reply may take (``None``: no limit).
        connect_timeout: Seconds a connection attempt may take.
    """

    def __init__(self, address: tuple[str, int] | str, *, db: int = 0,
                 username: str | None = None, password: str | None = None,
                 ssl_context: ssl.SSLContext | None = None, timeout: float | None = 5.0,
                 connect_timeout: float = 2.0) -> None:
        self.address = address
        self.db = db
        self.username = username
        self.password = password
        self.ssl_context = ssl_context
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self._link: _Link | None = None
        self._connecting: asyncio.Task[_Link] | None = None
        self._scripts: dict[str, Script] = {}

    @classmethod
    def like(cls, redis: Redis) -> Mux:
        """A mux to the server (and with the settings) of a redis-py client's pool."""
        pool = redis.connection_pool
        kw = pool.connection_kwargs
        address: tuple[str, int] | str
        if issubclass(pool.connection_class, UnixDomainSocketConnection):
            address = kw["path"]
        else:
            address = (kw.get("host", "localhost"), int(kw.get("port", 6379)))
        context = None
        if issubclass(pool.connection_class, SSLConnection):
            context = ssl.create_default_context(cafile=kw.get("ssl_ca_certs"))
            if kw.get("ssl_certfile"):
                context.load_cert_chain(kw["ssl_certfile"], kw.get("ssl_keyfile"))
            if kw.get("ssl_cert_reqs") in ("none", ssl.CERT_NONE):
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
        return cls(address, db=int(kw.get("db") or 0), username=kw.get("username"),
                   password=kw.get("password"), ssl_context=context,
                   timeout=kw.get("socket_timeout"),
                   connect_timeout=kw.get("socket_connect_timeout") or 2.0)

    async def execute(self, *args: Any) -> Any:
        """One command's reply."""
        link = self._usable_link() or await self._connected()
        (future,) = link.send((pack(args),))
        return _raise_error(await future)

    async def batch(self, commands: Sequence[Sequence[Any]],
                    scripts: Sequence[Script] = ()) -> list[Any]:
        """The replies of ``commands``, sent together (not a transaction). The first error
        reply is raised after all replies are in. A ``NOSCRIPT`` reply loads ``scripts``
        and runs the batch once more, so the batch must be safe to run twice."""
        if not commands:
            return []
        packed = [_packed(c) for c in commands]
        for attempt in (1, 2):
            link = self._usable_link() or await self._connected()
            replies = [await f for f in link.send(packed)]
            errors = [r for r in replies if isinstance(r, RedisError)]
            if not errors:
                return replies
            if attempt == 1 and scripts and any(isinstance(e, NoScriptError) for e in errors):
                for script in scripts:
                    await self.execute("SCRIPT", "LOAD", script.source)
                continue
            raise errors[0]
        raise AssertionError("unreachable")

    async def replies(self, commands: Sequence[Sequence[Any]]) -> list[Any]:
        """The replies of ``commands``, sent together, error replies as values (nothing
        re-sent): for a batch whose commands are not all safe to run twice."""
        if not commands:
            return []
        link = self._usable_link() or await self._connected()
        return [await f for f in link.send([_packed(c) for c in commands])]

    def script(self, source: str) -> Script:
        """A Lua script run by EVALSHA (loaded on the first NOSCRIPT); one object per source,
        so a caller handed another module's script text (Docket's) may ask on every call."""
        script = self._scripts.get(source)
        if script is None:
            script = self._scripts[source] = Script(self, source)
        return script

    async def aclose(self) -> None:
        """Close the connection (callers still waiting get ConnectionError)."""
        if self._link is not None:
            self._link.fail(ConnectionError, "Connection closed by the client")
            self._link = None

    def _usable_link(self) -> _Link | None:
        """The current link when it is alive and on the running loop."""
        link = self._link
        if link is None or link.lost is not None or link.loop is not asyncio.get_running_loop():
            return None
        return link

    async def _connected(self) -> _Link:
        loop = asyncio.get_running_loop()
        task = self._connecting
        if task is None or task.get_loop() is not loop:
            task = self._connecting = loop.create_task(self._connect(loop))
            task.add_done_callback(self._connect_done)
        return await asyncio.shield(task)

    def _connect_done(self, task: asyncio.Task[_Link]) -> None:
        if self._connecting is task:
            self._connecting = None
        if not task.cancelled() and task.exception() is None:
            self._link = task.result()

    async def _connect(self, loop: asyncio.AbstractEventLoop) -> _Link:
        if self._link is not None and self._link.loop is loop:
            self._link.fail(ConnectionError, "Reconnecting")
        error: Exception | None = None
        for attempt in range(_CONNECT_ATTEMPTS):
            if attempt:
                await asyncio.sleep(_CONNECT_BACKOFF * 2 ** (attempt - 1))
            try:
                return await asyncio.wait_for(self._open(loop), self.connect_timeout)
            except AuthenticationError:
                raise  # a refusal is not a blip
            except (OSError, asyncio.TimeoutError, ConnectionError) as exc:
                error = exc
        raise ConnectionError(f"Error connecting to Redis at {self._where()}: {error}")

    async def _open(self, loop: asyncio.AbstractEventLoop) -> _Link:
        def factory() -> _Link:
            return _Link(loop, self.timeout)

        if isinstance(self.address, str):
            _, link = await loop.create_unix_connection(factory, self.address)
        else:
            host, port = self.address
            _, link = await loop.create_connection(factory, host, port, ssl=self.ssl_context)
        handshake: list[tuple[Any, ...]] = []
        if self.password is not None:
            handshake.append(("AUTH", self.username, self.password) if self.username
                             else ("AUTH", self.password))
        if self.db:
            handshake.append(("SELECT", self.db))
        if handshake:
            for reply in [await f for f in link.send([pack(c) for c in handshake])]:
                if isinstance(reply, RedisError):
                    link.fail(ConnectionError, str(reply))
                    raise AuthenticationError(f"Redis refused the connection: {reply}")
        return link

    def _where(self) -> str:
        return self.address if isinstance(self.address, str) else "%s:%d" % self.address


class Script:
    """A Lua script of a :class:`Mux`: call it, or put :meth:`command` in a batch."""

    def __init__(self, mux: Mux, source: str) -> None:
        self.mux = mux
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    def command(self, keys: Sequence[Any] = (), args: Sequence[Any] = ()) -> tuple[Any, ...]:
        """The EVALSHA command (for :meth:`Mux.batch`, with this script in ``scripts``)."""
        return ("EVALSHA", self.sha, len(keys), *keys, *args)

    async def __call__(self, keys: Sequence[Any] = (), args: Sequence[Any] = ()) -> Any:
        try:
            return await self.mux.execute(*self.command(keys, args))
        except NoScriptError:
            await self.mux.execute("SCRIPT", "LOAD", self.source)
            return await self.mux.execute(*self.command(keys, args))


def mux_of(redis: Redis) -> Mux:
    """The one :class:`Mux` that goes with a redis-py client (made on first use)."""
    mux = getattr(redis, "_agent_memory_mux", None)
    if mux is None:
        mux = Mux.like(redis)
        redis._agent_memory_mux = mux  # type: ignore[attr-defined]
    return mux
