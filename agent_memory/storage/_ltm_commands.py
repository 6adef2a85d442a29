"""Commands of the long-term store built once or by hand: the access update script and the
record read (see ``long_term.py``)."""

from __future__ import annotations

from agent_memory.storage._ltm_codec import FIELDS
from agent_memory.storage.mux import Packed, pack

# Note an access (every door's): last_accessed := now, one more access, hot again if the row
# has a tier, all in ONE HSET: each write of an indexed field re-indexes the record, the
# vector index's HNSW entry included (~0.3 ms of Redis at 10k memories), and the three
# writes this used to make re-indexed it three times. Skipped (throttled, ARGV[2] seconds)
# for a row that is hot or has no tier and was accessed within the interval. Returns 0 when
# the record is gone, 1 when left as it was, 2 when written. One call per key, so a
# pipeline of them stays valid on a cluster (each call touches one slot). The count is
# capped at 2**53 (what the API accepts; HINCRBY used to fail on larger stored values).
TOUCH = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local got = redis.call('HMGET', KEYS[1], 'last_accessed', 'access_count', 'tier')
local tier = got[3]
local last = tonumber(got[1] or '0') or 0
if (not tier or tier == 'hot') and tonumber(ARGV[1]) - last < tonumber(ARGV[2]) then
  return 1
end
local count = math.min((tonumber(got[2] or '0') or 0) + 1, 9007199254740992)
count = string.format('%d', count)
if tier then
  redis.call('HSET', KEYS[1], 'last_accessed', ARGV[1], 'access_count', count, 'tier', 'hot')
else
  redis.call('HSET', KEYS[1], 'last_accessed', ARGV[1], 'access_count', count)
end
return 2
"""

# A record's fields: one HMGET per key, its command packed here from a tail packed once
# (packing the ~30 field names per key was most of the client's cost of a page read).
# One command per key costs Redis ~1/3 less than one script looping over the keys (no Lua
# tables to build and convert) and keeps each command in one cluster slot.
_HMGET_TAIL = pack(["HMGET", b"", *FIELDS])[len(b"*%d\r\n$5\r\nHMGET\r\n$0\r\n\r\n"
                                              % (len(FIELDS) + 2)):]
_HMGET_HEAD = b"*%d\r\n$5\r\nHMGET\r\n" % (len(FIELDS) + 2)


def hmget(key: str) -> Packed:
    raw = key.encode()
    return Packed(b"%b$%d\r\n%b\r\n%b" % (_HMGET_HEAD, len(raw), raw, _HMGET_TAIL))
