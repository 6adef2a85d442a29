"""Redis state an erase removes outside the long-term records, and the AOF rewrite.

A person's sessions are found through the working-memory index (by user, optionally
namespace); each session's own keys (the session hash, its folded-message archive, its
promotion marker and lease, its promotion status record) are deleted together. The
extraction journal is keyed by an opaque batch hash, so an erase drops all of it (it only
holds answers of batches in flight; losing one costs another model call, never data).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence

from redis.asyncio import Redis
from redis.commands.search.query import Query
from redis.exceptions import RedisError, ResponseError
from redisvl.utils.token_escaper import TokenEscaper

from agent_memory.errors import StorageError
from agent_memory.storage.filters import check_tag_value
from agent_memory.storage.keys import (
    ACCESS_PENDING_KEY,
    WORKING_MEMORY_INDEX,
    WORKING_MEMORY_PREFIX,
    extraction_result_key,
    folded_messages_key,
    parse_session_identity,
    promotion_armed_key,
    promotion_lock_key,
    task_status_key,
    working_memory_key,
)
from agent_memory.storage.mux import mux_of

_escape = TokenEscaper(re.compile(TokenEscaper.TAG_ESCAPED_CHARS)).escape
_PAGE = 1000

Session = tuple[str | None, str | None, str]  # namespace, user_id, session_id


def _tag(field: str, value: str) -> str:
    return f"@{field}:{{{_escape(check_tag_value(field, value))}}}"


class UserDataStore:
    """Finds and removes one person's working-memory state; rewrites the AOF."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.mux = mux_of(redis)

    async def sessions_of(self, namespace: str | None, user_id: str) -> list[Session]:
        """Every session of ``user_id`` (in ``namespace``, or in any when ``None``)."""
        clauses = [_tag("user_id", user_id)]
        if namespace is not None:
            clauses.append(_tag("namespace", namespace))
        found: list[Session] = []
        offset = 0
        try:
            while True:
                query = Query(" ".join(clauses)).no_content().paging(offset, _PAGE).dialect(2)
                result = await self.redis.ft(WORKING_MEMORY_INDEX).search(query)
                for doc in result.docs:
                    key = doc.id.decode() if isinstance(doc.id, bytes) else doc.id
                    identity = key[len(WORKING_MEMORY_PREFIX) + 1:-1]  # inside "{...}"
                    found.append(parse_session_identity(identity))
                offset += _PAGE
                if offset >= int(result.total):
                    return found
        except RedisError as exc:
            raise StorageError(f"could not list a user's sessions: {exc}") from exc

    async def delete_sessions(self, sessions: Sequence[Session],
                              task_ids: Sequence[str]) -> dict[str, int]:
        """Delete each session's hash, folded messages, promotion marker, lease and status
        record (``task_ids``, one per session)."""
        if not sessions:
            return {"sessions": 0, "folded_message_archives": 0}
        commands: list[tuple[str, ...]] = []
        for (ns, user, sid), task_id in zip(sessions, task_ids, strict=True):
            commands += [("DEL", working_memory_key(ns, user, sid)),
                         ("DEL", folded_messages_key(ns, user, sid)),
                         ("DEL", promotion_armed_key(ns, user, sid),
                          promotion_lock_key(ns, user, sid), task_status_key(task_id))]
        try:
            replies = await self.mux.batch(commands)
        except RedisError as exc:
            raise StorageError(f"could not delete sessions: {exc}") from exc
        return {"sessions": sum(int(r) for r in replies[0::3]),
                "folded_message_archives": sum(int(r) for r in replies[1::3])}

    async def drop_extraction_journal(self) -> int:
        """Delete every journaled extraction answer (see the module docs)."""
        removed = 0
        try:
            async for key in self.redis.scan_iter(match=extraction_result_key("*"), count=1000):
                removed += int(await self.mux.execute("DEL", key))
        except RedisError as exc:
            raise StorageError(f"could not drop the extraction journal: {exc}") from exc
        return removed

    async def drop_pending_access(self, memory_ids: Sequence[str]) -> int:
        """Take erased ids out of the access-tracking queue."""
        if not memory_ids:
            return 0
        try:
            return int(await self.mux.execute("SREM", ACCESS_PENDING_KEY, *memory_ids))
        except RedisError as exc:
            raise StorageError(f"could not update the access queue: {exc}") from exc

    async def rewrite_aof(self, timeout: float) -> str:
        """Make Redis rewrite its append-only file and wait for the rewrite to finish, so
        deleted values leave the disk. Returns ``rewritten``, ``aof_off`` (nothing to do),
        ``timeout`` (still running), ``failed`` or ``not_permitted`` (a managed Redis that
        refuses BGREWRITEAOF: the operator's provider rewrites on its own schedule)."""
        try:
            info = await self.redis.info("persistence")
            if not int(info.get("aof_enabled", 0)):
                return "aof_off"
            deadline = time.monotonic() + timeout
            while True:  # a rewrite already running may have forked before the deletes
                before = int((await self.redis.info("persistence")).get("aof_rewrites", -1))
                try:
                    await self.redis.bgrewriteaof()
                    break
                except ResponseError as exc:
                    text = str(exc).lower()
                    if "already in progress" not in text:
                        return "not_permitted" if "unknown command" in text \
                            or "noperm" in text else "failed"
                    if time.monotonic() >= deadline:
                        return "timeout"
                    await asyncio.sleep(0.1)
            while time.monotonic() < deadline:
                await asyncio.sleep(0.05)
                info = await self.redis.info("persistence")
                busy = int(info.get("aof_rewrite_in_progress", 0)) or \
                    int(info.get("aof_rewrite_scheduled", 0))
                done = before < 0 or int(info.get("aof_rewrites", 0)) > before
                if not busy and done:
                    return "rewritten" if info.get("aof_last_bgrewrite_status") == "ok" \
                        else "failed"
            return "timeout"
        except RedisError as exc:
            raise StorageError(f"could not rewrite the append-only file: {exc}") from exc
