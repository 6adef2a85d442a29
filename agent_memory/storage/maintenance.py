"""Small Redis state of maintenance tasks: the access queue and the compaction watermark."""

from __future__ import annotations

from redis.asyncio import Redis

from agent_memory.storage.keys import (
    ACCESS_ARMED_KEY,
    ACCESS_PENDING_KEY,
    COMPACTION_WATERMARK_KEY,
)


class AccessQueue:
    """Ids that searches returned, waiting for one coalesced access update."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def add(self, ids: list[str], arm_seconds: float) -> bool:
        """Note ids read (a set: repeats within a burst cost nothing more).

        Returns True when no flush was armed in the last ``arm_seconds`` (and arms one):
        only then does the caller need to schedule the flush task. One round trip.
        """
        if not ids:
            return False
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.sadd(ACCESS_PENDING_KEY, *ids)
            pipe.set(ACCESS_ARMED_KEY, b"1", nx=True, px=max(int(arm_seconds * 1000), 1))
            _, armed = await pipe.execute()
        return bool(armed)

    async def take(self, count: int) -> list[str]:
        """Remove and return up to ``count`` pending ids (empty when drained)."""
        raw = await self.redis.spop(ACCESS_PENDING_KEY, count)
        return sorted({v.decode() if isinstance(v, bytes) else v for v in raw or []})


class CompactionWatermark:
    """Epoch seconds up to which compaction has looked at changed memories."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def get(self) -> float | None:
        """The last completed run's start, or ``None`` before the first run."""
        raw = await self.redis.get(COMPACTION_WATERMARK_KEY)
        return float(raw) if raw else None

    async def set(self, value: float) -> None:
        """Record a completed run's start."""
        await self.redis.set(COMPACTION_WATERMARK_KEY, repr(value))
