"""Scheduled compaction bounded to what changed since the last run.

Each run looks only at memories whose ``updated_at`` is at or after the stored watermark
(every write sets ``updated_at``), minus a small overlap for clocks and in-flight writes:

- hash duplicates: every stored memory sharing a changed memory's AMS hash (same text,
  user, session, namespace and type) is gathered, the oldest is kept, the others deleted;
- semantic duplicates (``COMPACT_SEMANTIC_DUPLICATES``): a changed memory within
  ``DEDUPLICATION_DISTANCE_THRESHOLD`` of an older one in its namespace and user is deleted.

Pinned memories are never deleted. No model merge: surviving ids never change. The
watermark moves to the run's start only when the run completes, so a crash re-scans.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from redis.asyncio import Redis
from redisvl.query.filter import Num

from agent_memory.services.deletion import POLICY, Deletion
from agent_memory.settings import Settings
from agent_memory.storage.filters import and_all, tag_eq_or_missing, tag_in, tag_not_in
from agent_memory.storage.maintenance import CompactionWatermark

if TYPE_CHECKING:
    from agent_memory.services.long_term import LongTermService

OVERLAP_SECONDS = 60.0
BATCH = 1000
HASH_CHUNK = 100


@dataclass
class CompactionResult:
    """What one run looked at and removed."""

    changed: int = 0
    hash_duplicates: list[str] = field(default_factory=list)
    semantic_duplicates: list[str] = field(default_factory=list)


class CompactionService:
    """Runs bounded compaction passes over long-term memory."""

    def __init__(self, long_term: LongTermService, redis: Redis, settings: Settings) -> None:
        self.long_term = long_term
        self.store = long_term.store
        self.watermark = CompactionWatermark(redis)
        self.settings = settings

    async def run(self) -> CompactionResult:
        """One pass over what changed since the previous one."""
        started = time.time()
        last = await self.watermark.get()
        since = last - OVERLAP_SECONDS if last is not None else 0.0
        result = CompactionResult()
        changed: list[tuple[str, str | None, bool]] = []  # (id, hash, pinned)
        async for rows in self.store.iter_fields(Num("updated_at") >= since,
                                                 ("id_", "memory_hash", "pinned"), BATCH):
            for memory_id, memory_hash, pinned in rows:
                if memory_id:
                    changed.append((memory_id, memory_hash, pinned in ("true", "1", "t")))
        result.changed = len(changed)
        result.hash_duplicates = await self._hash_duplicates({h for _, h, _ in changed if h})
        if self.settings.compact_semantic_duplicates:
            gone = set(result.hash_duplicates)
            todo = [i for i, _, pinned in changed if i not in gone and not pinned]
            result.semantic_duplicates = await self._semantic_duplicates(todo)
        await self.watermark.set(started)
        return result

    async def _hash_duplicates(self, hashes: set[str]) -> list[str]:
        ordered = sorted(hashes)
        doomed: list[str] = []
        for start in range(0, len(ordered), HASH_CHUNK):
            groups: dict[str, list[tuple[float, str, bool]]] = {}
            where = tag_in("memory_hash", ordered[start:start + HASH_CHUNK])
            async for rows in self.store.iter_fields(
                    where, ("id_", "memory_hash", "created_at", "pinned"), BATCH):
                for memory_id, memory_hash, created, pinned in rows:
                    if memory_id and memory_hash:
                        groups.setdefault(memory_hash, []).append(
                            (float(created or 0), memory_id, pinned in ("true", "1", "t")))
            for members in groups.values():
                members.sort()
                doomed += [m[1] for m in members[1:] if not m[2]]
        if doomed:
            await self.long_term.delete_ids(
                doomed, Deletion(POLICY, reason="compaction: exact duplicate"))
        return doomed

    async def _semantic_duplicates(self, ids: list[str]) -> list[str]:
        threshold = self.settings.deduplication_distance_threshold
        doomed: list[str] = []
        for start in range(0, len(ids), BATCH):
            records = await self.store.get_many(ids[start:start + BATCH])
            for record in records:
                if record is None or record.id in doomed:
                    continue
                raw = await self.store.vector_of(record.id)
                if raw is None:
                    continue
                where = and_all([tag_eq_or_missing("namespace", record.namespace),
                                 tag_eq_or_missing("user_id", record.user_id),
                                 tag_not_in("id_", [record.id, *doomed[-50:]])])
                hits, _ = await self.store.within(np.frombuffer(raw, dtype=np.float32), where,
                                                  threshold, 5)
                mine = (record.created_at.timestamp(), record.id)
                if any((h.created_at, h.memory_id) < mine
                       for h in hits if h.memory_id not in doomed):
                    doomed.append(record.id)
        if doomed:
            await self.long_term.delete_ids(
                doomed, Deletion(POLICY, reason="compaction: semantic duplicate"))
        return doomed
