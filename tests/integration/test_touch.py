"""An access update is one write: each write of an indexed field re-indexes the record."""

from __future__ import annotations

import numpy as np
from redis.asyncio import Redis

from agent_memory.models.records import MemoryRecord
from agent_memory.storage.long_term import LongTermStore
from agent_memory.storage.redis import create_redis
from tests.conftest import make_settings


async def test_an_access_is_one_hset_and_heats_a_tiered_row(redis: Redis, redis_url: str) -> None:
    settings = make_settings(redis_url)
    client = create_redis(settings)
    try:
        store = LongTermStore(client, settings, 8)
        await store.ensure_index("test-model", check_model=False)
        await store.write([MemoryRecord(id="plain", text="tea", namespace="ns"),
                           MemoryRecord(id="cold", text="jazz", namespace="ns")],
                          np.ones((2, 8), dtype=np.float32))
        await redis.hset("memory_idx:cold", mapping={"tier": "cold", "access_count": 2**53})
        await redis.hset("memory_idx:plain", "last_accessed", 1000)  # long ago
        await redis.config_resetstat()
        now = 1_500_000_000.5  # before the clock: the last call below is not throttled
        assert await store.touch_each(["plain", "cold", "gone"], now, 900) == [2, 2, 0]
        stats = await redis.info("commandstats")
        assert stats["cmdstat_hset"]["calls"] == 2  # one write per record, nothing else
        assert "cmdstat_hincrby" not in stats
        plain = await redis.hmget("memory_idx:plain", "last_accessed", "access_count", "tier")
        assert plain == [repr(now).encode(), b"1", None]
        cold = await redis.hmget("memory_idx:cold", "access_count", "tier")
        assert cold == [str(2**53).encode(), b"hot"]  # capped where the API caps it
        # Within the interval a hot or untiered row is left alone (throttled).
        assert await store.touch_each(["plain", "cold"], now + 1, 900) == [1, 1]
        assert await store.touch(["plain"], 0) == 1
    finally:
        await client.aclose()
