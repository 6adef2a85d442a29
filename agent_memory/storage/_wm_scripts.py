"""Lua scripts that keep each working-memory write atomic and each read one round trip.

Layout of a session hash (see ``working_memory.py``), layout version 2:
  meta fields   session_id namespace user_id context data ttl strategy created_at
                updated_at last_accessed version cver seq mtok lo rn lv
  m:<seq>       "<tokens>\\t<id>\\t<message json>"   (content never rewritten)
  i:<id>        the seq of message <id>: an id already stored is not appended again
  x:<seq>       "t" once the message was extracted
  p:<seq>       persisted_at (epoch seconds) once promoted
  r:<n>         structured memory json, n = 1..rn in order
  j:<id>        the n of structured memory <id>
  rp:<n>        persisted_at of structured memory n

Live messages always hold the contiguous seqs ``lo..seq``: appends take the next seq, a
summary folds a prefix away (``lo`` moves up), a replace renumbers from 1. So the newest N
messages are one HMGET of known fields, whatever the session's length.
"""

from __future__ import annotations

# The meta fields READ returns, in this order (working_memory.py decodes by position).
META = ("session_id", "namespace", "user_id", "context", "data", "ttl", "strategy",
        "created_at", "updated_at", "last_accessed", "version", "cver", "seq", "mtok", "lo",
        "rn", "lv")
LAYOUT = "2"

# HSET/HMGET in slices: Lua's unpack() has a stack limit of ~8000 values.
_HELPERS = """
local function hset_from(key, args, first, last)
  local i = first
  while i <= last do
    local j = math.min(i + 999, last)
    redis.call('HSET', key, unpack(args, i, j))
    i = j + 1
  end
end
local function hmget_all(key, fields)
  local out = {}
  local i = 1
  while i <= #fields do
    local j = math.min(i + 999, #fields)
    local got = redis.call('HMGET', key, unpack(fields, i, j))
    for k = 1, #got do out[#out + 1] = got[k] end
    i = j + 1
  end
  return out
end
local META = {""" + ", ".join(f"'{name}'" for name in META) + """}
-- The newest `limit` messages: {meta values, first seq returned, {m, x, p per message},
-- {r, rp per memory}}, or false. (A whole session is one plain HGETALL instead: building
-- every field name in Lua costs more than the bytes it saves.)
local function read(key, limit)
  local meta = redis.call('HMGET', key, unpack(META))
  if not meta[11] then return false end
  local hi = tonumber(meta[13]) or 0
  local lo = math.max(tonumber(meta[15]) or 1, hi - tonumber(limit) + 1)
  local fields = {}
  for s = lo, hi do
    fields[#fields + 1] = 'm:' .. s
    fields[#fields + 1] = 'x:' .. s
    fields[#fields + 1] = 'p:' .. s
  end
  local rfields = {}
  for n = 1, (tonumber(meta[16]) or 0) do
    rfields[#rfields + 1] = 'r:' .. n
    rfields[#rfields + 1] = 'rp:' .. n
  end
  return {meta, lo, hmget_all(key, fields), hmget_all(key, rfields)}
end
"""

# KEYS[1] session. ARGV[1]: how many of the newest messages. Returns read() (false: no
# session).
READ = _HELPERS + """
return read(KEYS[1], ARGV[1])
"""

# KEYS[1] session, KEYS[2] its promotion marker. ARGV: if_match ("" none, "*" must exist),
# ttl ("" none), marker ms ("" none), then field/value pairs in the layout above. Replaces
# the whole session, keeps created_at, bumps version and cver; with a marker time, then sets
# the promotion marker if absent (SET NX PX), so the caller learns in the same round trip
# whether it must schedule promotion. Returns {version, '', previous created_at or '',
# armed (1/0)}, or {-1, current version} on a stale If-Match (nothing written or armed).
REPLACE = _HELPERS + """
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
hset_from(KEYS[1], ARGV, 4, #ARGV)
local v = (tonumber(cur) or 0) + 1
redis.call('HSET', KEYS[1], 'version', v, 'cver', cver + 1)
if created then redis.call('HSET', KEYS[1], 'created_at', created) end
if ARGV[2] ~= '' then redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2])) end
local armed = 0
if ARGV[3] ~= '' then
  if redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[3]) then armed = 1 end
end
return {v, '', created or '', armed}
"""

# KEYS[1] session, KEYS[2] its promotion marker. ARGV: now, ttl ("" keep), limit ('' all),
# marker ms ('' none), n_meta, meta pairs (set only on create), strategy ("" keep), then per
# message: id, tokens, json, extracted ("t"/""), persisted (""). A message whose id is
# already stored is skipped: re-sending a turn is a no-op. When messages were added and a
# marker time is given, the promotion marker is set if absent (SET NX PX), so the caller
# learns in the same round trip whether it must schedule promotion. Returns {added,
# armed (1/0), read(limit)} or, without a limit, {added, armed, HGETALL}.
APPEND = _HELPERS + """
local key = KEYS[1]
local n_meta = tonumber(ARGV[5])
local pos = 6
if redis.call('EXISTS', key) == 0 then
  if n_meta > 0 then redis.call('HSET', key, unpack(ARGV, pos, pos + n_meta * 2 - 1)) end
  redis.call('HSET', key, 'version', 0, 'cver', 0, 'seq', 0, 'mtok', 0, 'lo', 1, 'rn', 0,
             'lv', '""" + LAYOUT + """', 'created_at', ARGV[1])
end
pos = pos + n_meta * 2
if ARGV[pos] ~= '' then redis.call('HSET', key, 'strategy', ARGV[pos]) end
pos = pos + 1
local added = 0
local tokens = 0
local seq = tonumber(redis.call('HGET', key, 'seq'))
local fields = {}
while pos <= #ARGV do
  local id = ARGV[pos]
  local idx = 'i:' .. id
  if redis.call('HEXISTS', key, idx) == 0 then
    seq = seq + 1
    redis.call('HSET', key, 'm:' .. seq, ARGV[pos + 1] .. '\\t' .. id .. '\\t' .. ARGV[pos + 2],
               idx, seq)
    tokens = tokens + tonumber(ARGV[pos + 1])
    if ARGV[pos + 3] ~= '' then redis.call('HSET', key, 'x:' .. seq, ARGV[pos + 3]) end
    if ARGV[pos + 4] ~= '' then redis.call('HSET', key, 'p:' .. seq, ARGV[pos + 4]) end
    added = added + 1
  end
  pos = pos + 5
end
redis.call('HSET', key, 'seq', seq, 'updated_at', ARGV[1], 'last_accessed', ARGV[1])
redis.call('HINCRBY', key, 'version', 1)
if tokens > 0 then redis.call('HINCRBY', key, 'mtok', tokens) end
if ARGV[2] ~= '' then
  redis.call('HSET', key, 'ttl', ARGV[2])
  redis.call('EXPIRE', key, tonumber(ARGV[2]))
else
  local ttl = redis.call('HGET', key, 'ttl')
  if ttl then redis.call('EXPIRE', key, tonumber(ttl)) end
end
local armed = 0
if added > 0 and ARGV[4] ~= '' then
  if redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[4]) then armed = 1 end
end
if ARGV[3] == '' then return {added, armed, redis.call('HGETALL', key)} end
return {added, armed, read(key, ARGV[3])}
"""

# KEYS[1] session. ARGV: expected cver, new context, now, last seq to fold.
# Folds the oldest messages, up to that seq, into the summary only if no other summarizer
# (or replace) won the race; messages appended meanwhile have higher seqs and stay.
FOLD = """
local key = KEYS[1]
if redis.call('EXISTS', key) == 0 then return -2 end
if redis.call('HGET', key, 'cver') ~= ARGV[1] then return -1 end
local lo = tonumber(redis.call('HGET', key, 'lo') or '1')
local upto = math.min(tonumber(ARGV[4]), tonumber(redis.call('HGET', key, 'seq') or '0'))
local removed = 0
local freed = 0
for s = lo, upto do
  local v = redis.call('HGET', key, 'm:' .. s)
  if v then
    local tok, id = string.match(v, '^(%d+)\\t([^\\t]*)\\t')
    freed = freed + tonumber(tok)
    redis.call('HDEL', key, 'm:' .. s, 'x:' .. s, 'p:' .. s, 'i:' .. id)
    removed = removed + 1
  end
end
redis.call('HINCRBY', key, 'mtok', -freed)
redis.call('HSET', key, 'lo', math.max(lo, upto + 1), 'context', ARGV[2], 'updated_at', ARGV[3])
redis.call('HINCRBY', key, 'cver', 1)
redis.call('HINCRBY', key, 'version', 1)
return removed
"""

# KEYS[1] session. ARGV: flag prefix ("x:" / "p:" / "rp:"), value, index prefix ("i:" for
# messages, "j:" for structured memories), ids... Sets one flag per id, only where the
# message or memory still exists: a task never writes back a snapshot, so messages added
# meanwhile cannot be lost.
MARK = """
local key = KEYS[1]
local n = 0
for i = 4, #ARGV do
  local at = redis.call('HGET', key, ARGV[3] .. ARGV[i])
  if at then
    redis.call('HSET', key, ARGV[1] .. at, ARGV[2])
    n = n + 1
  end
end
return n
"""

# KEYS[1] session. Rewrites a session stored by layout 1 (m:<id> = "seq\ttokens\tjson",
# flags and structured memories keyed by id) into this layout, renumbering from 1; a session
# already in this layout is left alone. Returns 1 when it rewrote the session.
MIGRATE = _HELPERS + """
local key = KEYS[1]
if redis.call('HEXISTS', key, 'lv') == 1 or redis.call('HEXISTS', key, 'version') == 0 then
  return 0
end
local all = redis.call('HGETALL', key)
local flat = {}
for i = 1, #all, 2 do flat[all[i]] = all[i + 1] end
local msgs, recs, old = {}, {}, {}
for f, v in pairs(flat) do
  local kind, id = string.match(f, '^(%a+):(.*)$')
  if kind == 'm' then
    local seq, tok, body = string.match(v, '^(%d+)\\t(%d+)\\t(.*)$')
    msgs[#msgs + 1] = {tonumber(seq), id, tok, body}
  elseif kind == 'r' then
    local seq, body = string.match(v, '^(%d+)\\t(.*)$')
    recs[#recs + 1] = {tonumber(seq), id, body}
  end
  if kind == 'm' or kind == 'x' or kind == 'p' or kind == 'r' or kind == 'rp' then
    old[#old + 1] = f
  end
end
local by_seq = function(a, b) return a[1] < b[1] end
table.sort(msgs, by_seq)
table.sort(recs, by_seq)
local i = 1
while i <= #old do
  local j = math.min(i + 999, #old)
  redis.call('HDEL', key, unpack(old, i, j))
  i = j + 1
end
for s, m in ipairs(msgs) do
  redis.call('HSET', key, 'm:' .. s, m[3] .. '\\t' .. m[2] .. '\\t' .. m[4], 'i:' .. m[2], s)
  if flat['x:' .. m[2]] then redis.call('HSET', key, 'x:' .. s, flat['x:' .. m[2]]) end
  if flat['p:' .. m[2]] then redis.call('HSET', key, 'p:' .. s, flat['p:' .. m[2]]) end
end
for n, r in ipairs(recs) do
  redis.call('HSET', key, 'r:' .. n, r[3], 'j:' .. r[2], n)
  if flat['rp:' .. r[2]] then redis.call('HSET', key, 'rp:' .. n, flat['rp:' .. r[2]]) end
end
redis.call('HSET', key, 'seq', #msgs, 'lo', 1, 'rn', #recs, 'lv', '""" + LAYOUT + """')
return 1
"""
