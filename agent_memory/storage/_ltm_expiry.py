"""The expiry floor of the long-term index and the counted insert of the memories door.

The floor (``keys.ltm_expiry_floor_key``) is the earliest ``expires_at`` of any stored
memory. Every write with an expiry lowers it in the same round trip; the purge recomputes
it. Searches add the not-expired clause only once it has passed: until then there is
nothing to exclude, and the clause would turn an unfiltered KNN into a filtered one
(measured 6x slower at 20k rows). A floor that is too low only costs speed; it is never
too high except for the moment a purge races a write (the swap below refuses that), and
reads by id check expiry themselves, so no expired memory is ever returned.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from redis.commands.search import reducers
from redis.commands.search.aggregation import AggregateRequest
from redisvl.index import AsyncSearchIndex

from agent_memory.storage.mux import Mux

CACHE_SECONDS = 0.5  # how long a process trusts its last read of the floor

# Lower the expiry floor (keys.ltm_expiry_floor_key) to ARGV[1] if that is earlier.
_FLOOR_MIN = """
local cur = redis.call('GET', KEYS[1])
if (not cur) or tonumber(ARGV[1]) < tonumber(cur) then redis.call('SET', KEYS[1], ARGV[1]) end
return 1
"""

# Replace the floor with ARGV[2] ('' deletes it) only if it is still ARGV[1] ('' = absent):
# a write that lowered it meanwhile wins.
_FLOOR_SWAP = """
local cur = redis.call('GET', KEYS[1]) or ''
if cur ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2]) end
return 1
"""

# Insert a record under the next free id of a counter, with the expiry floor, in one call.
# KEYS[1] counter, KEYS[2] floor; ARGV[1] record key prefix (with separator), ARGV[2]
# expiry ('' = none), then field/value pairs (``id_`` is set here). The record key is
# computed here, so it is not declared: one Redis (or a proxy).
_INSERT_COUNTED = """
local n = nil
for _ = 1, 1000 do
  local candidate = redis.call('INCR', KEYS[1])
  if redis.call('EXISTS', ARGV[1] .. candidate) == 0 then n = candidate break end
end
if not n then return redis.error_reply('no free memory id') end
redis.call('HSET', ARGV[1] .. n, 'id_', tostring(n), unpack(ARGV, 3))
if ARGV[2] ~= '' then
  local cur = redis.call('GET', KEYS[2])
  if (not cur) or tonumber(ARGV[2]) < tonumber(cur) then redis.call('SET', KEYS[2], ARGV[2]) end
end
return n
"""


def _s(value: object) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


class ExpiryFloor:
    """Reads, lowers and recomputes the floor of one index."""

    def __init__(self, mux: Mux, key: str, index: AsyncSearchIndex) -> None:
        self.mux = mux
        self.key = key
        self.index = index
        # (monotonic time read, floor) of this process's last read; this process's own
        # writes lower it at once. Another process's write is seen within CACHE_SECONDS;
        # until then an expired row it wrote can only make a page short (reads by id drop
        # it), never be returned.
        self._cached: tuple[float, float | None] | None = None
        self.lower = mux.script(_FLOOR_MIN)  # .command([key], [epoch]) inside a write batch
        self._insert = mux.script(_INSERT_COUNTED)
        self._swap = mux.script(_FLOOR_SWAP)

    async def insert(self, prefix: str, fields: dict[str, Any], expires_at: datetime | None,
                     counter_key: str) -> str:
        """Write a record's ``fields`` under the next free id of ``counter_key`` (keys are
        ``prefix`` + id), lowering the floor for its expiry; returns the id."""
        args: list[object] = [prefix, repr(expires_at.timestamp()) if expires_at else ""]
        for name, value in fields.items():
            if name != "id_":  # the script sets it
                args += (name, value)
        value = await self._insert(keys=[counter_key, self.key], args=args)
        if expires_at is not None:
            self.lowered(expires_at.timestamp())
        return str(int(value))

    def lowered(self, epoch: float) -> None:
        """Note that this process just lowered the floor to ``epoch`` (if earlier)."""
        if self._cached is not None and (self._cached[1] is None or epoch < self._cached[1]):
            self._cached = (self._cached[0], epoch)

    async def passed(self, now: float) -> bool:
        """True when some stored memory may have expired by ``now``."""
        cached = self._cached
        if cached is None or time.monotonic() - cached[0] > CACHE_SECONDS:
            raw = await self.mux.execute("GET", self.key)
            try:
                floor = None if raw is None else float(raw)
            except ValueError:
                floor = float("-inf")  # unreadable: filter, to be safe
            cached = self._cached = (time.monotonic(), floor)
        return cached[1] is not None and cached[1] <= now

    async def refresh(self) -> float | None:
        """Recompute the floor (after a purge) and record it unless a write changed it
        meanwhile; returns it (``None``: nothing stored expires)."""
        before = await self.mux.execute("GET", self.key)
        req = (AggregateRequest("@expires_at:[-inf +inf]").load("@expires_at")
               .group_by([], reducers.min("@expires_at").alias("m")).dialect(2))
        res = await self.index.aggregate(req)
        found = None
        for row in res.rows:
            values = {_s(k): _s(v) for k, v in zip(row[::2], row[1::2], strict=False)}
            if values.get("m") not in (None, "", "nan", "inf"):
                found = float(values["m"])  # type: ignore[arg-type]
        await self._swap(keys=[self.key], args=[_s(before) or "",
                                                "" if found is None else repr(found)])
        self._cached = None  # read again next time (a write may have won the swap)
        return found
