"""Ingestion jobs in Redis: one hash per job (status, counts, ids, its turns, and the
decision journaled for each exchange before it is acted on). Created by
``IngestionStore.accept``; the only code that reads and advances them afterwards."""

from __future__ import annotations

import json
from typing import Any

from redis.asyncio import Redis

from agent_memory.storage.keys import job_key
from agent_memory.storage.mux import mux_of

# KEYS[1] job. ARGV: expected status, new status, ttl, then fields to set with it (name,
# value)... Compare-and-set of the status.
_ADVANCE = """
if redis.call('HGET', KEYS[1], 'status') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[2], unpack(ARGV, 4))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
"""
# KEYS[1] job, KEYS[2] the Docket task's runs hash. ARGV as _ADVANCE. The same
# compare-and-set, only once the task is on the Docket (the runs hash has its state).
_QUEUE = """
if redis.call('HGET', KEYS[1], 'status') ~= ARGV[1] then return 0 end
if redis.call('HEXISTS', KEYS[2], 'state') == 0 then return -1 end
redis.call('HSET', KEYS[1], 'status', ARGV[2], unpack(ARGV, 4))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
"""
# KEYS[1] job. ARGV: now, ttl. Start an attempt unless the job is done; returns the status
# it found ('' when there is no such job).
_START = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return '' end
if status == 'succeeded' then return status end
redis.call('HSET', KEYS[1], 'status', 'running')
redis.call('HSETNX', KEYS[1], 'started_at', ARGV[1])
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
return status
"""

ACCEPTING = "accepting"  # active writes under way: not yet visible as queued


class JobStore:
    """Reads and advances ingestion jobs."""

    def __init__(self, redis: Redis) -> None:
        self.mux = mux_of(redis)
        self._advance = self.mux.script(_ADVANCE)
        self._start = self.mux.script(_START)
        self._queue = self.mux.script(_QUEUE)

    async def get(self, job_id: str) -> dict[str, str] | None:
        """Every field of a job, decoded; ``None`` when unknown or expired."""
        raw = await self.mux.execute("HGETALL", job_key(job_id))
        if not raw:
            return None
        return {k.decode(): v.decode() for k, v in zip(raw[::2], raw[1::2], strict=True)}

    async def statuses(self, job_ids: list[str]) -> dict[str, tuple[str | None, bool]]:
        """``(status, passive)`` of each job (status ``None`` when the job is gone)."""
        replies = await self.mux.batch([("HMGET", job_key(j), "status", "passive")
                                        for j in job_ids])
        return {j: (s.decode() if s is not None else None, p == b"1")
                for j, (s, p) in zip(job_ids, replies, strict=True)}

    async def advance(self, job_id: str, expected: str, status: str, ttl: int,
                      fields: dict[str, Any] | None = None) -> bool:
        """Move ``expected`` -> ``status`` (setting ``fields`` with it, dicts and lists as
        JSON); False when the job was elsewhere."""
        return bool(await self._advance(keys=[job_key(job_id)],
                                        args=[expected, status, ttl, *_flat(fields or {})]))

    async def queue(self, job_id: str, expected: str, status: str, ttl: int,
                    task: tuple[Any, ...], task_script: str, runs_key: str,
                    fields: dict[str, Any] | None = None) -> tuple[Any, bool]:
        """Put the job's Docket task on the docket (``task``: the EVALSHA of Docket's
        schedule script, ``task_script`` its source) and move ``expected`` -> ``status``
        in one round trip: the status changes only once the task is there (its runs hash,
        ``runs_key``, has a state), so a failed enqueue leaves the job ``expected`` for a
        retry to finish. Returns the schedule script's reply and whether the status moved.
        """
        scripts = [self.mux.script(task_script), self._queue]
        reply, moved = await self.mux.batch([
            task,
            self._queue.command([job_key(job_id), runs_key],
                                [expected, status, ttl, *_flat(fields or {})]),
        ], scripts)
        return reply, int(moved) == 1

    async def start(self, job_id: str, now: float, ttl: int) -> str | None:
        """Begin an attempt; the status found (``None``: no such job)."""
        found = await self._start(keys=[job_key(job_id)], args=[now, ttl])
        found = found.decode() if isinstance(found, bytes) else found
        return found or None

    async def update(self, job_id: str, fields: dict[str, Any], ttl: int) -> None:
        """Set fields (dicts and lists as JSON) and renew the TTL."""
        key = job_key(job_id)
        await self.mux.batch([("HSET", key, *_flat(fields)), ("EXPIRE", key, ttl)])

    async def journaled(self, job_id: str, index: int) -> str | None:
        """The decision journaled for exchange ``index``, if any."""
        raw = await self.mux.execute("HGET", job_key(job_id), f"plan:{index}")
        return None if raw is None else raw.decode()

    async def journal(self, job_id: str, index: int, plan: str) -> str:
        """Journal a decision unless one is there; returns the one that counts."""
        key = job_key(job_id)
        _, raw = await self.mux.batch([("HSETNX", key, f"plan:{index}", plan),
                                       ("HGET", key, f"plan:{index}")])
        return raw.decode()


def _flat(fields: dict[str, Any]) -> list[Any]:
    flat: list[Any] = []
    for name, value in fields.items():
        flat += [name, json.dumps(value) if isinstance(value, dict | list) else value]
    return flat
