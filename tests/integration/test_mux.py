"""The shared, pipelined Redis connection (``agent_memory.storage.mux``) against a real Redis:
raw replies and argument encoding, many callers on one connection, cancelled callers, error
replies, scripts after a lost script cache, a Redis that hangs, dies or wants a password,
other databases, other event loops and Unix sockets."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from redis.asyncio import Redis
from redis.exceptions import (
    AuthenticationError,
    ConnectionError,
    DataError,
    NoScriptError,
    ResponseError,
    TimeoutError,
)

from agent_memory.embedded_redis import EmbeddedRedis, free_port, temporary_redis
from agent_memory.storage.mux import Mux, mux_of

SET_AND_ECHO_LUA = "redis.call('SET', KEYS[1], ARGV[1]); return ARGV[1]"


@pytest.fixture
def persistent_redis() -> Iterator[EmbeddedRedis]:
    """A private embedded Redis this module may stop, kill or lock with a password (as in
    ``test_redis_outage.py``)."""
    with temporary_redis(persistent=True, prefix="am-mux-") as server:
        yield server


class _UnixSocketRedis(EmbeddedRedis):
    """The embedded server, also listening on ``data_dir/redis.sock``."""

    def _command(self) -> list[str]:
        socket_path = str(self.data_dir / "redis.sock")
        return [*super()._command(), "--unixsocket", socket_path, "--unixsocketperm", "700"]


@pytest.fixture
def unix_redis() -> Iterator[EmbeddedRedis]:
    # A short prefix: socket paths are limited to ~100 bytes.
    with temporary_redis(prefix="am-mux-unix-", server_class=_UnixSocketRedis) as server:
        yield server


@pytest.fixture
async def mux(redis: Redis) -> AsyncIterator[Mux]:
    """A mux to the test Redis, on the database the ``redis`` fixture has just emptied."""
    shared = Mux.like(redis)
    yield shared
    await shared.aclose()


def mux_for(url: str, **client_kwargs: Any) -> Mux:
    """A mux built like the one of a redis-py client on ``url`` (the client never connects)."""
    return Mux.like(Redis.from_url(url, **client_kwargs))


def with_db(url: str, db: int) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{db}"))


async def client_ids(redis: Redis) -> set[int]:
    return {int(client["id"]) for client in await redis.client_list()}


async def evalsha_calls(redis: Redis) -> tuple[int, int]:
    """EVALSHA commands Redis ran since the last stats reset, and how many of them failed
    (a NOSCRIPT reply counts as a failed call)."""
    stats = (await redis.info("commandstats")).get("cmdstat_evalsha", {})
    return stats.get("calls", 0), stats.get("failed_calls", 0)


# -- replies and arguments -----------------------------------------------------------------


async def test_execute_returns_raw_replies(mux: Mux) -> None:
    assert await mux.execute("SET", "k", "v") == b"OK"
    assert await mux.execute("GET", "k") == b"v"
    assert await mux.execute("GET", "missing") is None
    assert await mux.execute("INCR", "n") == 1
    assert await mux.execute("INCRBY", "n", 41) == 42
    assert await mux.execute("HSET", "h", "a", "1", "b", "2") == 2
    flat = await mux.execute("HGETALL", "h")
    assert dict(zip(flat[::2], flat[1::2])) == {b"a": b"1", b"b": b"2"}
    assert await mux.execute("HMGET", "h", "a", "nope") == [b"1", None]


async def test_arguments_are_encoded_like_redis_py(mux: Mux, redis: Redis) -> None:
    values: list[Any] = ["text", "ünïcode ✓", b"\x00\xff\r\nbin", memoryview(b"view"),
                         0, -17, 2**63 - 1, 0.1, 1e20, -2.5, 3.0, 1 / 3]
    for i, value in enumerate(values):
        await redis.set(f"py:{i}", value)
        await mux.execute("SET", f"mux:{i}", value)
    by_redis_py = await redis.mget([f"py:{i}" for i in range(len(values))])
    by_mux = await redis.mget([f"mux:{i}" for i in range(len(values))])
    assert by_mux == by_redis_py
    assert by_mux[7:9] == [b"0.1", b"1e+20"]  # floats as repr(), like redis-py


async def test_bool_and_none_are_refused_before_anything_is_sent(mux: Mux, redis: Redis) -> None:
    await mux.execute("PING")  # connected, so a refusal cannot hide behind a failed connect
    await redis.config_resetstat()
    for bad in (True, False, None):
        with pytest.raises(DataError):
            await mux.execute("SET", "k", bad)
        with pytest.raises(DataError):  # the same refusal as redis-py's
            await redis.set("k", bad)
    assert "cmdstat_set" not in await redis.info("commandstats")
    assert await redis.exists("k") == 0
    assert await mux.execute("ECHO", "still in step") == b"still in step"


# -- many callers, one connection ----------------------------------------------------------


async def test_concurrent_callers_get_their_own_replies_over_one_connection(
        mux: Mux, redis: Redis) -> None:
    callers = 200
    before_ids = await client_ids(redis)
    before_reads = (await redis.info("stats"))["total_reads_processed"]

    async def caller(i: int) -> tuple[int, int, bytes]:
        client_id = await mux.execute("CLIENT", "ID")
        count = await mux.execute("INCRBY", f"c:{i}", i + 1)
        value = await mux.execute("GET", f"c:{i}")
        return client_id, count, value

    results = await asyncio.gather(*(caller(i) for i in range(callers)))

    reads = (await redis.info("stats"))["total_reads_processed"] - before_reads
    assert [(count, value) for _, count, value in results] == [
        (i + 1, str(i + 1).encode()) for i in range(callers)]
    (mux_id,) = {client_id for client_id, _, _ in results}
    assert await client_ids(redis) - before_ids == {mux_id}  # one new connection, the mux's
    # Redis counts a read event each time a client's socket wakes it up with data. A client
    # that waits for each reply costs at least one per command (600 here); the mux sends
    # each of the three rounds of commands in one write, so Redis needs a handful (plus one
    # for our INFO). Extra reads from TCP segmentation stay far below the bound.
    assert reads <= 20, f"{reads} reads for {3 * callers} commands"


async def test_a_cancelled_caller_does_not_shift_the_replies_of_others(
        mux: Mux, redis: Redis) -> None:
    await redis.mset({"a": "A", "b": "B"})
    link_id = await mux.execute("CLIENT", "ID")

    # Cancelled while Redis holds its command (a BLPOP on an empty list): its reply, which
    # comes once the list gets an item, is dropped instead of going to the next caller.
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(mux.execute("BLPOP", "q", 5), 0.02)
    gets = asyncio.gather(mux.execute("GET", "a"), mux.execute("GET", "b"))
    await redis.lpush("q", "popped by the cancelled caller")
    assert await gets == [b"A", b"B"]
    assert await redis.llen("q") == 0

    # Cancelled after queueing, before the flush: its command still goes out and its reply
    # is still skipped.
    task = asyncio.ensure_future(mux.execute("GET", "a"))
    await asyncio.sleep(0)
    task.cancel()
    assert await mux.execute("GET", "b") == b"B"
    assert task.cancelled()

    assert await mux.execute("CLIENT", "ID") == link_id  # no reconnection was needed


async def test_large_values_and_small_replies_interleave(mux: Mux) -> None:
    big = os.urandom(4 << 20)
    replies = await asyncio.gather(mux.execute("SET", "big", big),
                                   *(mux.execute("ECHO", i) for i in range(100)),
                                   mux.execute("GET", "big"), mux.execute("STRLEN", "big"))
    assert replies[0] == b"OK"
    assert replies[1:101] == [str(i).encode() for i in range(100)]
    assert replies[101] == big
    assert replies[102] == len(big)


# -- error replies -------------------------------------------------------------------------


async def test_an_error_reply_raises_and_the_connection_stays_usable(mux: Mux) -> None:
    await mux.execute("SET", "s", "v")
    link_id = await mux.execute("CLIENT", "ID")
    with pytest.raises(ResponseError, match="WRONGTYPE"):
        await mux.execute("LPUSH", "s", "x")
    with pytest.raises(ResponseError, match="unknown command"):
        await mux.execute("NO-SUCH-COMMAND")
    assert await mux.execute("GET", "s") == b"v"
    assert await mux.execute("CLIENT", "ID") == link_id


async def test_batch_returns_replies_in_order_and_raises_its_first_error_last(mux: Mux) -> None:
    assert await mux.batch([]) == []
    assert await mux.batch([("SET", "n", 1), ("INCR", "n"), ("GET", "n"), ("GET", "none")]) == [
        b"OK", 2, b"2", None]
    with pytest.raises(ResponseError, match="not an integer") as raised:
        await mux.batch([("SET", "n", 10), ("INCRBY", "n", "x"), ("LPUSH", "n", "y"),
                         ("INCR", "n")])
    assert "WRONGTYPE" not in str(raised.value)  # the first error, not the second
    assert await mux.execute("GET", "n") == b"11"  # the commands after the errors ran
    assert await mux.execute("ECHO", "next") == b"next"  # and every reply was consumed


# -- scripts -------------------------------------------------------------------------------


async def test_a_script_is_loaded_again_after_script_flush(mux: Mux, redis: Redis) -> None:
    script = mux.script("return {KEYS[1], ARGV[1], 7}")
    assert await script(["k"], ["a"]) == [b"k", b"a", 7]
    await redis.script_flush()
    await redis.config_resetstat()
    assert await script(["k2"], [2.5]) == [b"k2", b"2.5", 7]
    stats = await redis.info("commandstats")
    assert stats["cmdstat_script|load"]["calls"] == 1
    assert await evalsha_calls(redis) == (2, 1)  # NOSCRIPT, then the run


async def test_batch_reloads_its_scripts_and_runs_once_more_after_script_flush(
        mux: Mux, redis: Redis) -> None:
    first = mux.script(SET_AND_ECHO_LUA)
    second = mux.script("return redis.call('GET', KEYS[1])")
    commands = [first.command(["x"], ["one"]), ("GET", "x"), second.command(["x"])]
    assert await mux.batch(commands, [first, second]) == [b"one", b"one", b"one"]
    await redis.script_flush()
    await redis.delete("x")
    await redis.config_resetstat()

    assert await mux.batch(commands, [first, second]) == [b"one", b"one", b"one"]
    stats = await redis.info("commandstats")
    assert stats["cmdstat_script|load"]["calls"] == 2  # each script once
    assert await evalsha_calls(redis) == (4, 2)  # two refused, then both run

    await redis.script_flush()
    with pytest.raises(NoScriptError):  # scripts not named: no reload, the error surfaces
        await mux.batch(commands)
    assert await mux.execute("ECHO", "ok") == b"ok"


# -- a Redis that hangs, dies, or is elsewhere ---------------------------------------------


async def test_a_redis_that_stops_answering_times_out_then_serves_again(
        persistent_redis: EmbeddedRedis) -> None:
    mux = mux_for(persistent_redis.url, socket_timeout=0.3)
    assert mux.timeout == 0.3
    pid = persistent_redis.pid
    assert pid is not None
    try:
        assert await mux.execute("SET", "k", "before") == b"OK"
        os.kill(pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            results = await asyncio.gather(*(mux.execute("GET", "k") for _ in range(5)),
                                           return_exceptions=True)
            elapsed = time.monotonic() - started
            assert all(isinstance(r, TimeoutError) for r in results), results
            assert 0.25 <= elapsed < 1.0
            # Still stopped: the kernel accepts the new connection, the reply never comes.
            with pytest.raises(TimeoutError):
                await mux.execute("GET", "k")
        finally:
            os.kill(pid, signal.SIGCONT)
        assert await mux.execute("GET", "k") == b"before"
    finally:
        await mux.aclose()


async def test_a_killed_redis_fails_every_waiter_and_the_same_mux_serves_after_restart(
        persistent_redis: EmbeddedRedis) -> None:
    mux = mux_for(persistent_redis.url)
    try:
        assert await mux.execute("SET", "k", "kept") == b"OK"
        in_flight = [asyncio.ensure_future(mux.execute("BLPOP", "q", 5)),
                     asyncio.ensure_future(mux.execute("GET", "k"))]
        await asyncio.sleep(0.05)  # both sent; the BLPOP holds the connection
        persistent_redis.kill()
        results = await asyncio.gather(*in_flight, return_exceptions=True)
        assert all(isinstance(r, ConnectionError) for r in results), results

        started = time.monotonic()
        with pytest.raises(ConnectionError, match="Error connecting to Redis"):
            await mux.execute("GET", "k")
        assert time.monotonic() - started < 1.0  # three quick connection attempts

        persistent_redis.start(supervise=False)
        replies = await asyncio.gather(*(mux.execute("CLIENT", "ID") for _ in range(20)))
        assert len(set(replies)) == 1  # callers arriving together share one reconnection
        assert await mux.execute("GET", "k") == b"kept"
    finally:
        await mux.aclose()


async def test_a_connection_closed_by_the_server_is_replaced(mux: Mux, redis: Redis) -> None:
    first = await mux.execute("CLIENT", "ID")
    assert await redis.client_kill_filter(_id=first) == 1  # as an idle timeout would
    await asyncio.sleep(0.01)  # the loop notices the close (a command already sent would
    # fail with ConnectionError: commands are never sent twice)
    second = await mux.execute("CLIENT", "ID")
    assert second != first
    assert await mux.execute("ECHO", "fine") == b"fine"


async def test_connecting_to_nothing_raises_connection_error_quickly() -> None:
    port = free_port()
    mux = Mux(("127.0.0.1", port))
    started = time.monotonic()
    with pytest.raises(ConnectionError, match=f"127.0.0.1:{port}"):
        await mux.execute("PING")
    assert time.monotonic() - started < 1.0


async def test_unix_socket_url(unix_redis: EmbeddedRedis) -> None:
    path = unix_redis.data_dir / "redis.sock"
    mux = mux_for(f"unix://{path}?db=0")
    try:
        assert mux.address == str(path)
        assert await mux.execute("SET", "k", "over unix") == b"OK"
        assert await mux.execute("GET", "k") == b"over unix"
        info = (await mux.execute("CLIENT", "INFO")).decode()
        assert f"laddr={path}" in info
    finally:
        await mux.aclose()


# -- connection handshake ------------------------------------------------------------------


async def test_the_database_of_the_url_is_selected(redis: Redis, redis_url: str) -> None:
    url = with_db(redis_url, 1)
    other = Redis.from_url(url)
    mux = Mux.like(other)
    try:
        assert mux.db == 1
        assert await mux.execute("SET", "where", "db1") == b"OK"
        assert await other.get("where") == b"db1"
        assert await redis.get("where") is None  # db 0
        assert " db=1 " in (await mux.execute("CLIENT", "INFO")).decode()
    finally:
        await other.delete("where")
        await mux.aclose()
        await other.aclose()


async def test_password_and_acl_user_are_sent_on_connect(persistent_redis: EmbeddedRedis) -> None:
    # A private server: the password cannot lock out any other test.
    admin = Redis.from_url(persistent_redis.url)
    host = f"127.0.0.1:{persistent_redis.port}"
    muxes: list[Mux] = []

    def make(url: str) -> Mux:
        muxes.append(mux_for(url))
        return muxes[-1]

    try:
        await admin.acl_setuser("alice", enabled=True, passwords=["+alice-pw"], keys=["*"],
                                commands=["+@all"])
        await admin.config_set("requirepass", "s3cret")  # admin's connection stays logged in
        with pytest.raises(AuthenticationError):
            await make(f"redis://{host}/0").execute("PING")
        assert await make(f"redis://:s3cret@{host}/0").execute("ACL", "WHOAMI") == b"default"
        by_alice = make(f"redis://alice:alice-pw@{host}/2")
        assert await by_alice.execute("ACL", "WHOAMI") == b"alice"
        assert " db=2 " in (await by_alice.execute("CLIENT", "INFO")).decode()
        with pytest.raises(ConnectionError, match="refused"):
            await make(f"redis://:wrong@{host}/0").execute("PING")
    finally:
        for mux in muxes:
            await mux.aclose()
        await admin.aclose()


def test_mux_of_makes_one_mux_per_client_with_its_settings(redis_url: str) -> None:
    client = Redis.from_url(with_db(redis_url, 3), socket_timeout=1.5,
                            socket_connect_timeout=0.7, username="u", password="p")
    mux = mux_of(client)
    assert mux_of(client) is mux
    assert mux_of(Redis.from_url(redis_url)) is not mux
    parts = urlsplit(redis_url)
    assert mux.address == (parts.hostname, parts.port)
    assert (mux.db, mux.username, mux.password) == (3, "u", "p")
    assert (mux.timeout, mux.connect_timeout) == (1.5, 0.7)


# -- event loops ---------------------------------------------------------------------------


def test_one_mux_serves_one_event_loop_after_another(redis_url: str) -> None:
    mux = mux_for(redis_url)

    async def work(tag: str, close: bool = False) -> tuple[int, bytes]:
        await mux.execute("SET", f"loop:{tag}", tag)
        replies = await asyncio.gather(mux.execute("CLIENT", "ID"),
                                       mux.execute("GET", f"loop:{tag}"))
        if close:
            await mux.execute("DEL", "loop:one", "loop:two", "loop:three")
            await mux.aclose()
        return replies[0], replies[1]

    first_id, first = asyncio.run(work("one"))
    loop = asyncio.new_event_loop()
    try:
        second_id, second = loop.run_until_complete(work("two"))
    finally:
        loop.close()
    third_id, third = asyncio.run(work("three", close=True))
    assert (first, second, third) == (b"one", b"two", b"three")
    assert len({first_id, second_id, third_id}) == 3  # a connection of each loop's own
