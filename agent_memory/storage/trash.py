"""Soft-deleted long-term memories: record hashes renamed out of the index prefix.

A soft delete RENAMEs ``memory_idx:<id>`` to ``am:trash:{memory_idx:<id>}``: RediSearch
drops the key from the index at once, so every search, read and prompt stops seeing it
with no filter to add anywhere. The trash hash keeps the record (restore renames it back,
and RediSearch indexes it again) plus three metadata fields (when, how, by whom; the reason
is kept in the audit trail, never here). A sorted set orders the trash by deletion time
for the scheduled purge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from redis.exceptions import RedisError

from agent_memory.errors import StorageError
from agent_memory.storage.keys import TRASH_DUE_KEY, ltm_record_key, trash_key
from agent_memory.storage.mux import mux_of

META_FIELDS = ("_deleted_at", "_deleted_method", "_deleted_by")

# KEYS: record, trash, due set. ARGV: deleted_at, method, subject, id.
# Returns {namespace, user_id} of the moved record, or 0 when it is not stored.
_SOFT_DELETE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local scope = redis.call('HMGET', KEYS[1], 'namespace', 'user_id')
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[2], '_deleted_at', ARGV[1], '_deleted_method', ARGV[2],
           '_deleted_by', ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[1], ARGV[4])
return {scope[1] or '', scope[2] or ''}
"""

# KEYS: record, trash, due set. ARGV: id, not-before (deleted_at must be >= it).
# 1 restored, 0 not in the trash, -1 the id is in use again, -2 the grace period is over.
_RESTORE = """
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
local at = tonumber(redis.call('HGET', KEYS[2], '_deleted_at') or '0') or 0
if at < tonumber(ARGV[2]) then return -2 end
redis.call('HDEL', KEYS[2], '_deleted_at', '_deleted_method', '_deleted_by')
redis.call('RENAME', KEYS[2], KEYS[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return 1
"""

# KEYS: trash, due set. ARGV: id, cutoff. Purge only what is still due (a restore and a
# new delete of the same id in between moved its time). Returns {namespace, user}, 0 when
# not due, -1 when the trash hash is already gone (a Redis TTL the record carried).
_PURGE = """
local at = redis.call('ZSCORE', KEYS[2], ARGV[1])
if at and tonumber(at) > tonumber(ARGV[2]) then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local scope = redis.call('HMGET', KEYS[1], 'namespace', 'user_id')
redis.call('DEL', KEYS[1])
return {scope[1] or '', scope[2] or ''}
"""


@dataclass(frozen=True)
class Trashed:
    """A memory in the trash: its tenant and deletion metadata (never its text)."""

    memory_id: str
    namespace: str | None
    user_id: str | None
    deleted_at: float
    method: str
    deleted_by: str


def _s(value: object) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


def _scope(reply: object) -> tuple[str | None, str | None] | None:
    if not isinstance(reply, list):
        return None
    return (_s(reply[0]) or None, _s(reply[1]) or None)


class TrashStore:
    """Moves long-term records to and from the trash; the only code that knows its keys.

    Args:
        redis: The process's client.
        prefix: The long-term index's record prefix (``REDISVL_INDEX_PREFIX``).
    """

    def __init__(self, redis: object, prefix: str) -> None:
        self.mux = mux_of(redis)  # type: ignore[arg-type]
        self.prefix = prefix
        self._soft = self.mux.script(_SOFT_DELETE)
        self._restore = self.mux.script(_RESTORE)
        self._purge = self.mux.script(_PURGE)

    def _keys(self, memory_id: str) -> list[str]:
        record = ltm_record_key(self.prefix, memory_id)
        return [record, trash_key(record), TRASH_DUE_KEY]

    async def move_in(self, ids: Sequence[str], *, at: float, method: str,
                      subject: str) -> dict[str, tuple[str | None, str | None]]:
        """Soft-delete ``ids`` (one script call each, one round trip); returns the tenant
        ``(namespace, user_id)`` of each id that was stored and is now in the trash."""
        if not ids:
            return {}
        commands = [self._soft.command(self._keys(i), [at, method, subject, i]) for i in ids]
        try:
            replies = await self.mux.batch(commands, [self._soft])
        except RedisError as exc:
            raise StorageError(f"could not move memories to the trash: {exc}") from exc
        out = {}
        for memory_id, reply in zip(ids, replies, strict=True):
            scope = _scope(reply)
            if scope is not None:
                out[memory_id] = scope
        return out

    async def get(self, memory_id: str) -> Trashed | None:
        """A trashed memory's tenant and metadata (``None`` when not in the trash)."""
        record = ltm_record_key(self.prefix, memory_id)
        try:
            row = await self.mux.execute("HMGET", trash_key(record), "namespace", "user_id",
                                         *META_FIELDS)
        except RedisError as exc:
            raise StorageError(f"could not read the trash: {exc}") from exc
        if row[2] is None:
            return None
        return Trashed(memory_id, _s(row[0]) or None, _s(row[1]) or None, float(row[2]),
                       _s(row[3]) or "", _s(row[4]) or "")

    async def move_out(self, memory_id: str, not_before: float) -> int:
        """Restore one memory deleted at or after ``not_before``: 1 restored, 0 not in the
        trash, -1 its id is in use again, -2 deleted before ``not_before``."""
        try:
            return int(await self._restore(self._keys(memory_id), [memory_id, not_before]))
        except RedisError as exc:
            raise StorageError(f"could not restore from the trash: {exc}") from exc

    async def due(self, cutoff: float, count: int) -> list[str]:
        """Up to ``count`` ids deleted at or before ``cutoff``, oldest first."""
        try:
            raw = await self.mux.execute("ZRANGE", TRASH_DUE_KEY, "-inf", cutoff, "BYSCORE",
                                         "LIMIT", 0, count)
        except RedisError as exc:
            raise StorageError(f"could not read the trash: {exc}") from exc
        return [_s(v) or "" for v in raw]

    async def purge(self, ids: Sequence[str], cutoff: float
                    ) -> tuple[dict[str, tuple[str | None, str | None]], list[str]]:
        """Delete for good the trashed ``ids`` still deleted at or before ``cutoff``;
        returns the tenant of each one removed, and the due ids whose trash hash had
        already expired."""
        if not ids:
            return {}, []
        commands = [self._purge.command(self._keys(i)[1:], [i, cutoff]) for i in ids]
        try:
            replies = await self.mux.batch(commands, [self._purge])
        except RedisError as exc:
            raise StorageError(f"could not purge the trash: {exc}") from exc
        purged = {i: s for i, r in zip(ids, replies, strict=True)
                  if (s := _scope(r)) is not None}
        vanished = [i for i, r in zip(ids, replies, strict=True) if r == -1]
        return purged, vanished

    async def all_ids(self) -> list[str]:
        """Every trashed id (the trash holds at most the grace period's deletions)."""
        try:
            raw = await self.mux.execute("ZRANGE", TRASH_DUE_KEY, 0, -1)
        except RedisError as exc:
            raise StorageError(f"could not read the trash: {exc}") from exc
        return [_s(v) or "" for v in raw]

    async def scopes(self, ids: Sequence[str]) -> list[tuple[str | None, str | None] | None]:
        """``(namespace, user_id)`` of each trashed id (``None`` when not in the trash)."""
        if not ids:
            return []
        commands = [("HMGET", self._keys(i)[1], "namespace", "user_id", "_deleted_at")
                    for i in ids]
        try:
            rows = await self.mux.batch(commands)
        except RedisError as exc:
            raise StorageError(f"could not read the trash: {exc}") from exc
        return [None if row[2] is None else (_s(row[0]) or None, _s(row[1]) or None)
                for row in rows]

    async def drop(self, ids: Sequence[str]) -> int:
        """Delete trashed ids for good now, whatever their age (erase); returns how many
        trash hashes existed."""
        if not ids:
            return 0
        keys = [self._keys(i)[1] for i in ids]
        try:
            replies = await self.mux.batch([("DEL", *keys), ("ZREM", TRASH_DUE_KEY, *ids)])
        except RedisError as exc:
            raise StorageError(f"could not drop from the trash: {exc}") from exc
        return int(replies[0])
