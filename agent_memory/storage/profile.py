"""Profile memories and read grants in Redis.

One hash per (namespace, user, scope) holds that scope's memories, field = memory id,
value = the JSON record; a memory with a TTL is a field with its own expiry (HEXPIRE,
Redis >= 7.4), so Redis itself forgets it and the hash disappears with its last field.
A grant is a hash that expires after its lifetime plus a retention (so continuing an
expired grant can say ``grant_expired``), listed in a per-user set kept for erasure.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from pydantic_core import from_json, to_json
from redis.asyncio import Redis
from redis.exceptions import RedisError

from agent_memory.errors import StorageError
from agent_memory.models.profile import SCOPES
from agent_memory.storage.keys import (
    profile_grant_key,
    profile_memories_key,
    profile_user_grants_key,
    profile_user_key_patterns,
)
from agent_memory.storage.mux import mux_of

_ADD = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if ARGV[3] ~= '' then
  redis.call('HEXPIRE', KEYS[1], ARGV[3], 'FIELDS', 1, ARGV[1])
end
return 1
"""

_ADD_GRANT = """
redis.call('HSET', KEYS[1], 'data', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('SADD', KEYS[2], ARGV[1])
if redis.call('TTL', KEYS[2]) < tonumber(ARGV[3]) then
  redis.call('EXPIRE', KEYS[2], ARGV[3])
end
return 1
"""

# Marks a grant revoked once: the first revocation's time is kept and returned.
_REVOKE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local previous = redis.call('HGET', KEYS[1], 'revoked_at')
if previous then return {0, previous} end
redis.call('HSET', KEYS[1], 'revoked_at', ARGV[1])
return {1, ARGV[1]}
"""


class ProfileRecord(NamedTuple):
    """One stored profile memory (times are epoch seconds).

    Stored as a JSON array in field order, not an object: a read decodes every memory of a
    scope, and arrays into a tuple cost a quarter of objects into a dataclass (50
    memories: 0.06 ms against 0.24 ms). New fields go at the end, with defaults.
    """

    id: str
    user_id: str
    scope: str
    domain: str | None
    source: str
    shape: str
    value: Any
    created_at: float
    expires_at: float | None


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class ProfileStore:
    """Reads and writes profile memories and read grants."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.mux = mux_of(redis)
        self._add = self.mux.script(_ADD)
        self._add_grant = self.mux.script(_ADD_GRANT)
        self._revoke = self.mux.script(_REVOKE)

    async def add(self, namespace: str | None, record: ProfileRecord,
                  ttl_seconds: int | None) -> None:
        """Store one memory (it expires ``ttl_seconds`` from now, or never)."""
        key = profile_memories_key(namespace, record.user_id, record.scope)
        data = to_json(list(record))
        try:
            await self._add([key], [record.id, data, "" if ttl_seconds is None else ttl_seconds])
        except RedisError as exc:
            raise StorageError(f"could not store profile memory {record.id}: {exc}") from exc

    async def records(self, namespace: str | None, user_id: str,
                      scope: str) -> list[ProfileRecord]:
        """Every memory of the scope Redis has not yet expired (callers still check
        ``expires_at`` against their own clock)."""
        key = profile_memories_key(namespace, user_id, scope)
        try:
            flat = await self.mux.execute("HGETALL", key)
        except RedisError as exc:
            raise StorageError(f"could not read profile memories: {exc}") from exc
        return [ProfileRecord._make(from_json(flat[i])) for i in range(1, len(flat), 2)]

    async def add_grant(self, namespace: str | None, user_id: str, grant_id: str,
                        data: dict[str, Any], keep_seconds: int) -> None:
        """Store a grant for ``keep_seconds`` (its lifetime plus the retention)."""
        payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        try:
            await self._add_grant([profile_grant_key(grant_id),
                                   profile_user_grants_key(namespace, user_id)],
                                  [grant_id, payload, max(1, keep_seconds)])
        except RedisError as exc:
            raise StorageError(f"could not store grant {grant_id}: {exc}") from exc

    async def grant(self, grant_id: str) -> tuple[dict[str, Any], str | None] | None:
        """A grant's data and its revocation time, or ``None`` when unknown or gone."""
        try:
            flat = await self.mux.execute("HGETALL", profile_grant_key(grant_id))
        except RedisError as exc:
            raise StorageError(f"could not read grant {grant_id}: {exc}") from exc
        fields = {_text(flat[i]): _text(flat[i + 1]) for i in range(0, len(flat), 2)}
        if "data" not in fields:
            return None
        return json.loads(fields["data"]), fields.get("revoked_at")

    async def revoke(self, grant_id: str, revoked_at: str) -> tuple[bool, str] | None:
        """Mark a grant revoked: ``(True, revoked_at)`` the first time, ``(False, first
        time)`` after that, ``None`` when the grant is gone."""
        try:
            reply = await self._revoke([profile_grant_key(grant_id)], [revoked_at])
        except RedisError as exc:
            raise StorageError(f"could not revoke grant {grant_id}: {exc}") from exc
        if reply is None:
            return None
        return bool(reply[0]), _text(reply[1])

    async def erase_user(self, namespace: str | None, user_id: str) -> dict[str, int]:
        """Remove every profile memory and grant of one user (``namespace`` ``None``: in
        every namespace); what was removed, by kind. Idempotent."""
        if namespace is not None:
            memory_keys = [profile_memories_key(namespace, user_id, scope) for scope in SCOPES]
            grant_sets = [profile_user_grants_key(namespace, user_id)]
        else:
            mem_pattern, grants_pattern = profile_user_key_patterns(user_id)
            try:
                memory_keys = [k async for k in self.redis.scan_iter(mem_pattern, count=500)]
                grant_sets = [k async for k in self.redis.scan_iter(grants_pattern, count=500)]
            except RedisError as exc:
                raise StorageError(f"could not find profile data: {exc}") from exc
        try:
            replies = await self.mux.batch([*(("HLEN", key) for key in memory_keys),
                                            *(("SMEMBERS", key) for key in grant_sets)])
            lengths, members = replies[:len(memory_keys)], replies[len(memory_keys):]
            grant_keys = [profile_grant_key(_text(g)) for ids in members for g in ids]
            removed_grants = await self.mux.execute("DEL", *grant_keys) if grant_keys else 0
            if memory_keys or grant_sets:
                await self.mux.execute("DEL", *memory_keys, *grant_sets)
        except RedisError as exc:
            raise StorageError(f"could not erase profile data: {exc}") from exc
        return {"profile_memories": sum(int(n) for n in lengths),
                "profile_grants": int(removed_grants)}
