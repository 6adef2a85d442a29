"""Turn ingestion's own records: users, containers, turn claims and responses stored under
an ``Idempotency-Key``. The only code that knows these keys.

A request is accepted by one script (:data:`_ACCEPT`): it creates the user and any missing
container, claims each turn hash for the new job unless another job holds it, and creates
the job when it took at least one turn. Concurrent duplicates therefore agree on one job
per turn: the script runs atomically.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from agent_memory.storage.keys import (
    idempotency_key,
    ingest_containers_key,
    ingest_turns_key,
    ingest_user_jobs_key,
    ingest_user_key,
    ingest_users_key,
    job_key,
)
from agent_memory.storage.mux import mux_of

# KEYS: user, containers, turns, user jobs, users of the namespace, the new job, and
#       optionally the response stored under the request's Idempotency-Key.
# ARGV: now, turn ttl (s), job ttl (s), user id, namespace ("" = none), job id, #containers,
#       (id, json)..., #turns, hash..., then the new job's fields (name, value)...
# Returns: {created_user, {created container ids}, {owner job per turn}, took}, or, when a
# response is stored under the key, {0, {}, {}, 0, response} having written nothing.
# The job key sits in another slot than the user's keys: one Redis, or a proxy that routes
# scripts by their first key (as the long-term multi-key read does).
_ACCEPT = """
if KEYS[7] then
  local stored = redis.call('GET', KEYS[7])
  if stored then return {0, {}, {}, 0, stored} end
end
local now, turn_ttl, job_ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local created_user = 0
if ARGV[4] ~= '' then created_user = redis.call('HSETNX', KEYS[1], 'created_at', now) end
if created_user == 1 then
  redis.call('HSET', KEYS[1], 'user_id', ARGV[4], 'namespace', ARGV[5])
  redis.call('ZADD', KEYS[5], 'NX', now, ARGV[4])
end
local job = ARGV[6]
local i = 7
local created = {}
for _ = 1, tonumber(ARGV[i]) do
  if redis.call('HSETNX', KEYS[2], ARGV[i + 1], ARGV[i + 2]) == 1 then
    created[#created + 1] = ARGV[i + 1]
  end
  i = i + 2
end
i = i + 1
local owners, took = {}, 0
local n = tonumber(ARGV[i])
for t = 1, n do
  local h = ARGV[i + t]
  local cur = redis.call('HGET', KEYS[3], h)
  if cur then
    owners[t] = cur
  else
    redis.call('HSET', KEYS[3], h, job)
    redis.call('HEXPIRE', KEYS[3], turn_ttl, 'FIELDS', 1, h)
    owners[t] = job
    took = took + 1
  end
end
i = i + n + 1
if took > 0 then
  local fields = {}
  for j = i, #ARGV do fields[#fields + 1] = ARGV[j] end
  redis.call('HSET', KEYS[6], unpack(fields))
  redis.call('EXPIRE', KEYS[6], job_ttl)
  redis.call('ZADD', KEYS[4], now, job)
  redis.call('EXPIRE', KEYS[4], job_ttl)
end
return {created_user, created, owners, took}
"""


@dataclass(frozen=True)
class Accepted:
    """What :meth:`IngestionStore.accept` found and did."""

    created_user: bool
    created_containers: list[str]
    owners: list[str]  # the job holding each turn (the new job, or an earlier one)
    took: int  # turns the new job took
    stored: dict[str, Any] | None = None  # the response under the Idempotency-Key: no write


class IngestionStore:
    """Users, containers, turn claims, idempotent responses."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.mux = mux_of(redis)
        self._accept = self.mux.script(_ACCEPT)

    async def accept(self, namespace: str | None, user_id: str | None, job_id: str,
                     turn_hashes: list[str], containers: list[tuple[str, str | None]],
                     job_fields: dict[str, Any], *, now: float, turn_ttl: int,
                     job_ttl: int, response_key: str | None = None) -> Accepted:
        """Create the user (when there is one) and missing containers, claim the turns,
        create the job when it took a turn; or, when a response is stored under
        ``response_key`` (:meth:`response_key`), nothing but return it."""
        args: list[Any] = [now, turn_ttl, job_ttl, user_id or "", namespace or "", job_id,
                           len(containers)]
        for cid, ctype in containers:
            args += [cid, json.dumps({"type": ctype, "created_at": now})]
        args += [len(turn_hashes), *turn_hashes]
        for name, value in job_fields.items():
            args += [name, value]
        keys = [ingest_user_key(namespace, user_id), ingest_containers_key(namespace, user_id),
                ingest_turns_key(namespace, user_id), ingest_user_jobs_key(namespace, user_id),
                ingest_users_key(namespace), job_key(job_id)]
        if response_key is not None:
            keys.append(response_key)
        reply = await self._accept(keys=keys, args=args)
        if len(reply) > 4:
            return Accepted(False, [], [], 0, json.loads(reply[4]))
        created_user, created, owners, took = reply
        return Accepted(bool(created_user), [c.decode() for c in created],
                        [o.decode() for o in owners], int(took))

    # -- users and containers --------------------------------------------------------------

    async def user(self, namespace: str | None, user_id: str
                   ) -> tuple[float, list[tuple[str, str | None, float]]] | None:
        """``(created_at, [(container id, type, created_at)])`` or ``None``."""
        created, containers = await self.mux.batch([
            ("HGET", ingest_user_key(namespace, user_id), "created_at"),
            ("HGETALL", ingest_containers_key(namespace, user_id)),
        ])
        if created is None:
            return None
        out = []
        for cid, raw in zip(containers[::2], containers[1::2], strict=True):
            doc = json.loads(raw)
            out.append((cid.decode(), doc.get("type"), float(doc["created_at"])))
        out.sort(key=lambda c: (c[2], c[0]))
        return float(created), out

    async def users(self, namespace: str | None, offset: int, limit: int
                    ) -> tuple[list[str], int]:
        """A page of the namespace's user ids (oldest first) and their total."""
        key = ingest_users_key(namespace)
        page, total = await self.mux.batch([("ZRANGE", key, offset, offset + limit - 1),
                                            ("ZCARD", key)])
        return [u.decode() for u in page], int(total)

    # -- Idempotency-Key ------------------------------------------------------------------------

    @staticmethod
    def response_key(door: str, namespace: str | None, subject: str, digest: str) -> str:
        """Where a response is stored under a client's key (``digest``: of that key)."""
        return idempotency_key(door, namespace, subject, digest)

    async def stored_response(self, response_key: str) -> dict[str, Any] | None:
        """The response stored under a key (with the fingerprint of its request)."""
        raw = await self.mux.execute("GET", response_key)
        return None if raw is None else json.loads(raw)

    async def store_response(self, response_key: str, doc: dict[str, Any], ttl: int) -> bool:
        """Store a response under a key unless one is there already (first wins)."""
        return bool(await self.mux.execute("SET", response_key, json.dumps(doc), "NX", "EX",
                                           ttl))

    # -- erase ----------------------------------------------------------------------------------

    async def erase_user(self, namespace: str | None, user_id: str) -> dict[str, int]:
        """Remove everything ingestion keeps about a user (the jobs hold turn text)."""
        jobs_key = ingest_user_jobs_key(namespace, user_id)
        job_ids = [j.decode() for j in await self.mux.execute("ZRANGE", jobs_key, 0, -1)]
        turns, containers = await self.mux.batch([
            ("HLEN", ingest_turns_key(namespace, user_id)),
            ("HLEN", ingest_containers_key(namespace, user_id)),
        ])
        commands: list[tuple[Any, ...]] = [("DEL", job_key(j)) for j in job_ids]
        commands += [
            ("DEL", ingest_user_key(namespace, user_id)),
            ("DEL", ingest_containers_key(namespace, user_id), ingest_turns_key(namespace, user_id),
             jobs_key),
            ("ZREM", ingest_users_key(namespace), user_id),
        ]
        replies = await self.mux.batch(commands)
        return {"ingestion_jobs": sum(int(r) for r in replies[:len(job_ids)]),
                "ingestion_users": int(replies[len(job_ids)]),
                "ingestion_containers": int(containers), "ingestion_turns": int(turns)}
