"""The life of a memories-door row: tiers by idle time, expiry, and the scheduled passes.

Tiers (defaults in ``Settings``): a row is ``hot`` on write and on access; idle
``MEMORIES_WARM_AFTER_HOURS`` (24 h) it is ``warm``; idle ``MEMORIES_COLD_AFTER_HOURS``
(168 h) it is ``cold``. "Idle" counts from ``last_accessed``, which every write and every
access sets. The scheduled mover recomputes the tier of rows whose tier no longer matches
their idle time and writes only the ``tier`` field, conditionally on the tier it read (an
access that made the row hot meanwhile wins), so a move never copies, loses or duplicates
a row: the record stays the same hash.

Expiry: ``expires_at`` hides a row from every read from that instant (the storage layer,
``LongTermStore.live``/``get_raw``); :meth:`Lifecycle.purge_expired` deletes expired rows for
good afterwards, through the one delete path (``LongTermService.delete_ids``: trash, audit
event and provenance with method ``policy``), then recomputes the expiry floor so searches
drop the not-expired clause again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from redisvl.query.filter import FilterExpression, Num, Tag

from agent_memory.clock import Clock
from agent_memory.models._types import from_epoch
from agent_memory.models.memories import Lifecycle as LifecycleView
from agent_memory.models.records import MemoryRecord
from agent_memory.services.deletion import POLICY, Deletion
from agent_memory.services.long_term import LongTermService
from agent_memory.services.provenance import ProvenanceLog
from agent_memory.settings import Settings
from agent_memory.storage.filters import expired_by
from agent_memory.storage.memories import MemoriesStore

log = logging.getLogger(__name__)

TIERS = ("hot", "warm", "cold")
BATCH = 1000
EXPIRED = Deletion(POLICY, reason="expired (ttl_minutes)")  # by the server itself


def tier_for(idle_seconds: float, settings: Settings) -> str:
    """The tier of a row idle this long."""
    if idle_seconds >= settings.memories_cold_after_hours * 3600:
        return "cold"
    if idle_seconds >= settings.memories_warm_after_hours * 3600:
        return "warm"
    return "hot"


def lifecycle_of(record: MemoryRecord, settings: Settings) -> LifecycleView:
    """When the row became or becomes warm and cold (if left idle) and when it expires."""
    active = record.last_accessed
    managed = record.tier is not None
    return LifecycleView(
        tier=record.tier, last_active_at=active,
        warm_at=active + timedelta(hours=settings.memories_warm_after_hours) if managed else None,
        cold_at=active + timedelta(hours=settings.memories_cold_after_hours) if managed else None,
        expires_at=record.expires_at)


def _band(tier: str, now: float, settings: Settings) -> FilterExpression:
    """Rows recorded in ``tier`` whose idle time says they belong elsewhere."""
    warm_cut = now - settings.memories_warm_after_hours * 3600
    cold_cut = now - settings.memories_cold_after_hours * 3600
    tag = Tag("tier") == tier
    if tier == "hot":
        return tag & (Num("last_accessed") <= warm_cut)
    if tier == "warm":
        return tag & ((Num("last_accessed") > warm_cut) | (Num("last_accessed") <= cold_cut))
    return tag & (Num("last_accessed") > cold_cut)


@dataclass
class PassResult:
    """What a scheduled pass did."""

    examined: int = 0
    changed: int = 0


class Lifecycle:
    """The scheduled passes over memories-door rows (tier moves, expiry purge)."""

    def __init__(self, long_term: LongTermService, store: MemoriesStore, settings: Settings,
                 clock: Clock, provenance: ProvenanceLog | None = None) -> None:
        self.long_term = long_term
        self.store = store
        self.settings = settings
        self.clock = clock
        self.provenance = provenance

    async def move_tiers(self) -> PassResult:
        """Move every row whose idle time left its tier's band; safe to run twice."""
        now = self.clock.now()
        result = PassResult()
        for tier in TIERS:
            where = _band(tier, now, self.settings)  # an expired row's tier is moot
            async for rows in self.long_term.store.iter_fields(where, ("id_", "last_accessed"),
                                                               BATCH):
                moves = []
                for memory_id, accessed in rows:
                    if not memory_id:
                        continue
                    target = tier_for(now - float(accessed or 0), self.settings)
                    if target != tier:
                        moves.append((memory_id, tier, target))
                result.examined += len(rows)
                moved = set(await self.store.move_tiers(moves))
                result.changed += len(moved)
                if self.provenance is not None:
                    for memory_id, old, new in moves:
                        if memory_id in moved:
                            await self.provenance.record(memory_id, "tier_moved", tier_from=old,
                                                         tier_to=new)
        return result

    async def purge_expired(self) -> PassResult:
        """Delete, for good, every memory whose ``expires_at`` has passed (any door)."""
        result = PassResult()
        ids: list[str] = []
        async for batch in self.long_term.store.iter_ids(expired_by(self.clock.now()), BATCH):
            ids.extend(batch)
        result.examined = len(ids)
        for start in range(0, len(ids), BATCH):  # the one delete path: trash, audit, trail
            result.changed += await self.long_term.delete_ids(ids[start:start + BATCH],
                                                              EXPIRED)
        await self.long_term.store.refresh_expiry_floor()  # searches skip the clause again
        return result


def when(epoch: float) -> datetime:
    """Epoch seconds as a UTC datetime."""
    value = from_epoch(epoch)
    assert value is not None
    return value
