"""Redis dies under a running server: 503 meanwhile, recovery on its own, no acknowledged
write lost (the embedded Redis persists with an append-only file)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator

import httpx
import numpy as np
import pytest
from redis.asyncio import Redis
from redis import exceptions as redis_errors

from agent_memory.embedded_redis import EmbeddedRedis, temporary_redis
from agent_memory.models.records import MemoryRecord
from agent_memory.storage.long_term import LongTermStore
from agent_memory.storage.redis import create_redis
from tests.conftest import make_settings
from tests.support.live_server import live_server
from tests.support.wait import wait_until


@pytest.fixture
def persistent_redis() -> Iterator[EmbeddedRedis]:
    with temporary_redis(persistent=True, prefix="am-outage-") as server:
        yield server


async def test_outage_answers_503_then_recovers_with_every_ack(persistent_redis: EmbeddedRedis) -> None:
    """Writes acknowledged before, during and after a SIGKILL of Redis are all there after
    it restarts; requests during the outage get a JSON 503, never a dropped connection."""
    settings = make_settings(persistent_redis.url)
    acknowledged: list[str] = []
    with live_server(settings) as url:
        async with httpx.AsyncClient(base_url=url, timeout=10) as http:
            async def write(i: int) -> int:
                response = await http.post("/v1/working-memory/outage/messages", json={
                    "messages": [{"role": "user", "content": f"note {i}", "id": f"n{i}"}]})
                if response.status_code == 200:
                    acknowledged.append(f"n{i}")
                return response.status_code

            for i in range(20):
                assert await write(i) == 200
            persistent_redis.kill()
            during = [await write(i) for i in range(20, 25)]
            assert set(during) == {503}
            outage = await http.get("/v1/working-memory/outage")
            assert outage.status_code == 503
            assert outage.json()["error"]["code"] == "storage_unavailable"
            assert (await http.get("/v1/health")).status_code == 200  # liveness stays up
            assert (await http.get("/v1/health/ready")).status_code == 503

            persistent_redis.start(supervise=False)

            async def recovered() -> bool:
                return (await http.get("/v1/health/ready")).status_code == 200
            await wait_until(recovered, timeout=15)
            for i in range(25, 30):
                assert await write(i) == 200
            stored = (await http.get("/v1/working-memory/outage")).json()
    ids = {m["id"] for m in stored["messages"]}
    assert set(acknowledged) <= ids
    assert len(acknowledged) == 25


async def test_supervisor_restarts_a_killed_redis() -> None:
    """The embedded Redis is restarted by its watcher, with its data."""
    with temporary_redis(persistent=True, supervise=True, prefix="am-watch-") as server:
        client = Redis.from_url(server.url)
        await client.set("k", "v")
        first_pid = server.pid
        server.kill()

        async def back() -> bool:
            try:
                return await client.get("k") == b"v" and server.restarts == 1
            except Exception:
                return False
        await wait_until(back, timeout=15)
        assert server.pid != first_pid
        await client.aclose()


async def test_a_redis_that_stops_answering_times_out_and_is_used_again_after(
        persistent_redis: EmbeddedRedis) -> None:
    """The redis-py pool (index management, scans, health) is bounded by its reply timeout
    when Redis hangs, and is used again once it answers (the mux: test_mux.py)."""
    client = create_redis(make_settings(persistent_redis.url, redis_socket_timeout=0.3))
    try:
        assert await client.set("k", "before")
        assert persistent_redis.pid is not None
        os.kill(persistent_redis.pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            with pytest.raises((redis_errors.TimeoutError, redis_errors.ConnectionError)):
                await client.get("k")
            assert time.monotonic() - started < 2.5  # three tries of 0.3 s, plus backoff
        finally:
            os.kill(persistent_redis.pid, signal.SIGCONT)
        await asyncio.sleep(0.1)
        assert await client.get("k") == b"before"
    finally:
        await client.aclose()


async def test_pipelined_scripts_survive_a_lost_script_cache(redis: Redis, redis_url: str) -> None:
    """Batches call scripts by EVALSHA without a SCRIPT EXISTS round trip; a Redis that
    forgot its scripts (restarted) gets them loaded and the batch re-run."""
    settings = make_settings(redis_url)
    client = create_redis(settings)
    try:
        store = LongTermStore(client, settings, 16)
        await store.ensure_index("test-model", check_model=False)
        await store.write([MemoryRecord(id="a", text="tea", namespace="ns")],
                          np.ones((1, 16), dtype=np.float32))
        await store.touch(["a"], 0)  # loads the touch script
        await redis.script_flush()
        await redis.config_resetstat()
        assert await store.touch(["a", "missing"], 0) == 1
        stats = await redis.info("commandstats")
        assert "cmdstat_script|exists" not in stats
        assert stats["cmdstat_script|load"]["calls"] == 1  # after the NOSCRIPT, once
        assert int(await redis.hget("memory_idx:a", "access_count") or 0) == 2
        await redis.config_resetstat()
        await store.touch(["a"], 0)
        stats = await redis.info("commandstats")
        assert "cmdstat_script|load" not in stats and "cmdstat_script|exists" not in stats
    finally:
        await client.aclose()
