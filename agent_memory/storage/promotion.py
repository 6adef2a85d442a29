"""Promotion's own Redis state: messages folded before extraction, and the extraction journal.

Summarization may fold old messages into the session summary before promotion extracted
them. Those messages are parked here (one hash per session, id → message JSON) until a
promotion run has extracted them, so summarizing never loses a memory. The journal keeps a
model answer per extraction batch until its records are indexed and its messages marked, so
a redelivered task reuses the answer (same records, same ids) instead of asking again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from redis.asyncio import Redis
from redis.exceptions import RedisError

from agent_memory.errors import StorageError
from agent_memory.models.working_memory import MemoryMessage
from agent_memory.storage.keys import (
    extraction_result_key,
    folded_messages_key,
    promotion_armed_key,
    promotion_lock_key,
)

FOLDED_TTL_SECONDS = 7 * 24 * 3600
JOURNAL_TTL_SECONDS = 24 * 3600
LEASE_SECONDS = 30.0  # a dead holder blocks its session at most this long

# KEYS[1] lease. ARGV: token, ttl ms. Take a free lease, or re-take one this token holds
# (a redelivered attempt keeps its token), and extend it.
_ACQUIRE = """
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
return 1
"""
# KEYS[1] lease. ARGV: token. Release only a lease this token still holds.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class PromotionStore:
    """Folded-message archive and extraction journal."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._acquire = redis.register_script(_ACQUIRE)
        self._release = redis.register_script(_RELEASE)

    @contextlib.asynccontextmanager
    async def session_lease(self, namespace: str | None, user_id: str | None, session_id: str,
                            token: str) -> AsyncIterator[bool]:
        """Hold the session's promotion lease while the block runs; yields False when another
        run holds it. Renewed every third of its TTL, so a killed holder frees it quickly."""
        key = promotion_lock_key(namespace, user_id, session_id)
        ttl_ms = int(LEASE_SECONDS * 1000)
        if not await self._acquire(keys=[key], args=[token, ttl_ms]):
            yield False
            return

        async def renew() -> None:
            while True:
                await asyncio.sleep(LEASE_SECONDS / 3)
                await self._acquire(keys=[key], args=[token, ttl_ms])

        renewing = asyncio.create_task(renew())
        try:
            yield True
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing
            with contextlib.suppress(RedisError):
                await self._release(keys=[key], args=[token])

    async def arm(self, namespace: str | None, user_id: str | None, session_id: str,
                  ttl_seconds: float) -> bool:
        """True when no promotion was armed for the session in the last ``ttl_seconds``
        (and marks it armed); False when one is and this write is already covered."""
        ms = max(int(ttl_seconds * 1000), 1)
        return bool(await self.redis.set(promotion_armed_key(namespace, user_id, session_id),
                                         b"1", nx=True, px=ms))

    async def park_folded(self, namespace: str | None, user_id: str | None, session_id: str,
                          messages: list[MemoryMessage]) -> None:
        """Keep messages that a summary is about to fold, until they are extracted."""
        if not messages:
            return
        key = folded_messages_key(namespace, user_id, session_id)
        mapping = {m.id: m.model_dump_json() for m in messages}
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.hset(key, mapping=mapping)  # type: ignore[arg-type]
                pipe.expire(key, FOLDED_TTL_SECONDS)
                await pipe.execute()
        except RedisError as exc:
            raise StorageError(f"could not park folded messages: {exc}") from exc

    async def folded(self, namespace: str | None, user_id: str | None,
                     session_id: str) -> list[MemoryMessage]:
        """Parked messages of a session, oldest first."""
        try:
            raw = await self.redis.hgetall(folded_messages_key(namespace, user_id, session_id))
        except RedisError as exc:
            raise StorageError(f"could not read folded messages: {exc}") from exc
        messages = [MemoryMessage.model_validate_json(v) for v in raw.values()]
        return sorted(messages, key=lambda m: (m.created_at, m.id))

    async def drop_folded(self, namespace: str | None, user_id: str | None, session_id: str,
                          ids: list[str]) -> None:
        """Forget parked messages once extracted."""
        if ids:
            await self.redis.hdel(folded_messages_key(namespace, user_id, session_id), *ids)

    async def journaled(self, batch: str) -> str | None:
        """The journaled model answer of a batch, if an earlier attempt got one."""
        raw = await self.redis.get(extraction_result_key(batch))
        return None if raw is None else raw.decode()

    async def journal(self, batch: str, answer: str) -> None:
        """Keep a batch's answer until its records are indexed and messages marked."""
        await self.redis.set(extraction_result_key(batch), answer, ex=JOURNAL_TTL_SECONDS)

    async def forget_journal(self, batch: str) -> None:
        """Drop a batch's answer once its work is complete."""
        await self.redis.delete(extraction_result_key(batch))
