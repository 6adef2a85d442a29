"""Promotion's own Redis state: messages folded before extraction, and the extraction journal.

Summarization may fold old messages into the session summary before promotion extracted
them. Those messages are parked here (one hash per session, id → message JSON) until a
promotion run has extracted them, so summarizing never loses a memory. The journal keeps a
model answer per extraction batch until its records are indexed and its messages marked, so
a redelivered task reuses the answer (same records, same ids) instead of asking again.
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.exceptions import RedisError

from agent_memory.errors import StorageError
from agent_memory.models.working_memory import MemoryMessage
from agent_memory.storage.keys import extraction_result_key, folded_messages_key

FOLDED_TTL_SECONDS = 7 * 24 * 3600
JOURNAL_TTL_SECONDS = 24 * 3600


class PromotionStore:
    """Folded-message archive and extraction journal."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

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
