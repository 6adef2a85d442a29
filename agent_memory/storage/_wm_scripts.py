"""Lua scripts that keep each working-memory write atomic.

Layout of a session hash (see ``working_memory.py``):
  meta fields   session_id namespace user_id context data ttl strategy created_at
                updated_at last_accessed version cver seq mtok
  m:<id>        "<seq>\\t<tokens>\\t<message json>"   (content never rewritten)
  x:<id>        "t" once the message was extracted
  p:<id>        persisted_at (epoch seconds) once promoted
  r:<id>        "<seq>\\t<memory json>"                (structured memory)
  rp:<id>       persisted_at of a structured memory
"""

from __future__ import annotations

# HSET in slices: Lua's unpack() has a stack limit of ~8000 values.
_HSET_SLICED = """
local function hset_from(key, args, first, last)
  local i = first
  while i <= last do
    local j = math.min(i + 999, last)
    redis.call('HSET', key, unpack(args, i, j))
    i = j + 1
  end
end
"""

# KEYS[1] session. ARGV: if_match ("" none, "*" must exist), ttl ("" none), then field/value
# pairs. Replaces the whole session, keeps created_at, bumps version and cver.
# Returns {version, '', previous created_at or ''}, or {-1, current version} on a stale If-Match.
REPLACE = _HSET_SLICED + """
local cur = redis.call('HGET', KEYS[1], 'version')
local want = ARGV[1]
if want ~= '' then
  if want == '*' then
    if not cur then return {-1, ''} end
  elseif cur ~= want then
    return {-1, cur or ''}
  end
end
local created = redis.call('HGET', KEYS[1], 'created_at')
local cver = tonumber(redis.call('HGET', KEYS[1], 'cver') or '0')
redis.call('DEL', KEYS[1])
hset_from(KEYS[1], ARGV, 3, #ARGV)
local v = (tonumber(cur) or 0) + 1
redis.call('HSET', KEYS[1], 'version', v, 'cver', cver + 1)
if created then redis.call('HSET', KEYS[1], 'created_at', created) end
if ARGV[2] ~= '' then redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2])) end
return {v, '', created or ''}
"""

# KEYS[1] session. ARGV: now, ttl ("" keep), n_meta, meta pairs (set only on create),
# strategy ("" keep), then per message: id, tokens, json, extracted ("t"/""), persisted ("").
# A message whose id is already stored is skipped: re-sending a turn is a no-op.
# Returns {added, HGETALL of the session}: the caller needs no second read.
APPEND = """
local key = KEYS[1]
local n_meta = tonumber(ARGV[3])
local pos = 4
if redis.call('EXISTS', key) == 0 then
  if n_meta > 0 then redis.call('HSET', key, unpack(ARGV, pos, pos + n_meta * 2 - 1)) end
  redis.call('HSET', key, 'version', 0, 'cver', 0, 'seq', 0, 'mtok', 0, 'created_at', ARGV[1])
end
pos = pos + n_meta * 2
if ARGV[pos] ~= '' then redis.call('HSET', key, 'strategy', ARGV[pos]) end
pos = pos + 1
local added = 0
while pos <= #ARGV do
  local id = ARGV[pos]
  if redis.call('HEXISTS', key, 'm:' .. id) == 0 then
    local seq = redis.call('HINCRBY', key, 'seq', 1)
    redis.call('HSET', key, 'm:' .. id, seq .. '\\t' .. ARGV[pos + 1] .. '\\t' .. ARGV[pos + 2])
    redis.call('HINCRBY', key, 'mtok', tonumber(ARGV[pos + 1]))
    if ARGV[pos + 3] ~= '' then redis.call('HSET', key, 'x:' .. id, ARGV[pos + 3]) end
    if ARGV[pos + 4] ~= '' then redis.call('HSET', key, 'p:' .. id, ARGV[pos + 4]) end
    added = added + 1
  end
  pos = pos + 5
end
local v = redis.call('HINCRBY', key, 'version', 1)
redis.call('HSET', key, 'updated_at', ARGV[1], 'last_accessed', ARGV[1])
if ARGV[2] ~= '' then
  redis.call('HSET', key, 'ttl', ARGV[2])
  redis.call('EXPIRE', key, tonumber(ARGV[2]))
else
  local ttl = redis.call('HGET', key, 'ttl')
  if ttl then redis.call('EXPIRE', key, tonumber(ttl)) end
end
return {added, redis.call('HGETALL', key)}
"""

# KEYS[1] session. ARGV: expected cver, new context, now, ids to fold...
# Folds old messages into the summary only if no other summarizer won the race; messages
# appended meanwhile are untouched because only the named ids are removed.
FOLD = """
local key = KEYS[1]
if redis.call('EXISTS', key) == 0 then return -2 end
if redis.call('HGET', key, 'cver') ~= ARGV[1] then return -1 end
local removed = 0
for i = 4, #ARGV do
  local id = ARGV[i]
  local v = redis.call('HGET', key, 'm:' .. id)
  if v then
    local tok = tonumber(string.match(v, '^%d+\\t(%d+)\\t'))
    redis.call('HINCRBY', key, 'mtok', -tok)
    redis.call('HDEL', key, 'm:' .. id, 'x:' .. id, 'p:' .. id)
    removed = removed + 1
  end
end
redis.call('HSET', key, 'context', ARGV[2], 'updated_at', ARGV[3])
redis.call('HINCRBY', key, 'cver', 1)
redis.call('HINCRBY', key, 'version', 1)
return removed
"""

# KEYS[1] session. ARGV: prefix ("x:" / "p:" / "rp:"), value, guard prefix ("m:" / "r:"),
# ids... Sets one flag per id, only where the message or memory still exists: a task never
# writes back a snapshot, so messages added meanwhile cannot be lost.
MARK = """
local key = KEYS[1]
local n = 0
for i = 4, #ARGV do
  if redis.call('HEXISTS', key, ARGV[3] .. ARGV[i]) == 1 then
    redis.call('HSET', key, ARGV[1] .. ARGV[i], ARGV[2])
    n = n + 1
  end
end
return n
"""
