"""Redis state of the memories door beside the shared long-term record: the integer id
counter, per-row touches (access makes a row hot), tier writes, and summary-group ids.

The rows themselves are ``memory_idx:<id>`` hashes written by ``LongTermService``; the
scripts here only change fields of rows that still exist, so a row deleted meanwhile is
never resurrected as a partial hash.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from agent_memory.storage.keys import (
    MEMORIES_ID_COUNTER_KEY,
    MEMORIES_SUMMARY_GROUP_TTL_SECONDS,
    memories_summary_group_key,
)
from agent_memory.storage.long_term import LongTermStore, store_guard

# The next counter value whose record key is free: an id another door chose ("42") is
# skipped, never overwritten. KEYS[1] counter; ARGV[1] record key prefix with separator.
_NEXT_ID = """
for _ = 1, 1000 do
  local n = redis.call('INCR', KEYS[1])
  if redis.call('EXISTS', ARGV[1] .. n) == 0 then return n end
end
return redis.error_reply('no free memory id')
"""

# Set fields only on a row that exists; ARGV: field, value, ... Returns 1 if written.
_SET_IF_EXISTS = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
"""

# A tier move, only when the row is still in the tier the mover saw (a concurrent access
# that made it hot wins). ARGV: expected tier, new tier.
_MOVE_TIER = """
if redis.call('HGET', KEYS[1], 'tier') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'tier', ARGV[2])
return 1
"""

# The summary id of a group: the one already recorded, else ARGV[1] (recorded now).
_GROUP_ID = """
local got = redis.call('GET', KEYS[1])
if got then return got end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return ARGV[1]
"""


class MemoriesStore:
    """Small per-row operations on the long-term records of the memories door."""

    def __init__(self, store: LongTermStore) -> None:
        self.store = store
        self.mux = store.mux
        self.counter_key = MEMORIES_ID_COUNTER_KEY  # LongTermService.write_new takes ids here
        self._next_id = self.mux.script(_NEXT_ID)
        self._set = self.mux.script(_SET_IF_EXISTS)
        self._move = self.mux.script(_MOVE_TIER)
        self._group = self.mux.script(_GROUP_ID)

    async def next_id(self) -> str:
        """A new integer id (as text) whose record key is free."""
        with store_guard("new id"):
            value = await self._next_id(keys=[MEMORIES_ID_COUNTER_KEY],
                                        args=[self.store.key("")])
        return str(int(value))

    async def touch(self, ids: Sequence[str], now: float,
                    interval_seconds: float = 0.0) -> list[int]:
        """Note an access to each row (hot again; throttled per ``interval_seconds`` for rows
        already hot); per id, 0 when gone, 1 when left as it was, 2 when written."""
        return await self.store.touch_each(ids, now, interval_seconds)

    async def set_fields(self, updates: Mapping[str, Mapping[str, object]]) -> int:
        """Write fields ``{id: {field: value}}`` of rows that still exist; how many did."""
        if not updates:
            return 0
        commands = [self._set.command([self.store.key(memory_id)],
                                      [part for item in fields.items() for part in item])
                    for memory_id, fields in updates.items()]
        with store_guard("update"):
            results = await self.mux.batch(commands, [self._set])
        return sum(int(r) for r in results)

    async def move_tiers(self, moves: Sequence[tuple[str, str, str]]) -> list[str]:
        """Apply ``(id, from_tier, to_tier)`` moves; the ids actually moved."""
        if not moves:
            return []
        commands = [self._move.command([self.store.key(memory_id)], [old, new])
                    for memory_id, old, new in moves]
        with store_guard("tier move"):
            results = await self.mux.batch(commands, [self._move])
        return [m[0] for m, r in zip(moves, results, strict=True) if int(r)]

    async def group_summary_id(self, digest: str, proposed: str) -> str:
        """The summary id recorded for a group of covered rows, or ``proposed``."""
        with store_guard("summary group"):
            value = await self._group(keys=[memories_summary_group_key(digest)],
                                      args=[proposed, MEMORIES_SUMMARY_GROUP_TTL_SECONDS])
        return value.decode() if isinstance(value, bytes) else str(value)
