"""Forgetting: select long-term memories by age, inactivity and budget, then delete them.

Semantics follow AMS (§2.5 of the reference notes), with its gaps closed:

- the pass is exhaustive over its scope (every record, in batches), not "the first 1000 in
  index order", so the budget keeps the true top N of the whole scope;
- pinned records (``pinned`` true, or listed in ``pinned_ids``) are never deleted;
- with both ``max_age_days`` and ``max_inactive_days``: delete when older than
  ``max_age_days * hard_age_multiplier``, or older than ``max_age_days`` *and* inactive for
  more than ``max_inactive_days``; with one of them: delete when past that one;
- ``budget``: among the remaining eligible records keep the N most recent by AMS's recency
  score (0.6 freshness on last access, half-life 7 days; 0.4 novelty on creation, half-life
  30 days), delete the rest;
- ``limit`` caps how many records one call deletes (AMS used it to cap the scan).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from agent_memory.models._types import utcnow
from agent_memory.models.records import MemoryRecord
from agent_memory.models.tasks import ForgetPolicy, ForgetResponse
from agent_memory.services.deletion import POLICY, Deletion

SCAN_BATCH = 500
DELETE_BATCH = 500
_DAY = 86400.0


class ForgettableStore(Protocol):
    """What forgetting needs from long-term memory."""

    def iter_scope(self, namespace: str | None, user_id: str | None, session_id: str | None,
                   batch: int) -> AsyncIterator[list[MemoryRecord]]: ...

    async def delete_ids(self, ids: list[str], deletion: Deletion | None = None) -> int: ...


@dataclass(frozen=True)
class ForgetScope:
    """Which records a pass looks at; ``None`` fields do not narrow."""

    namespace: str | None = None
    user_id: str | None = None
    session_id: str | None = None
    exclude_namespaces: frozenset[str] = frozenset()


def recency_score(record: MemoryRecord, now: datetime) -> float:
    """AMS's recency with semantic weight 0: 0.6·freshness + 0.4·novelty."""
    days_access = max((now - record.last_accessed).total_seconds() / _DAY, 0.0)
    days_created = max((now - record.created_at).total_seconds() / _DAY, 0.0)
    freshness = math.exp(-math.log(2) / 7.0 * days_access)
    novelty = math.exp(-math.log(2) / 30.0 * days_created)
    return 0.6 * freshness + 0.4 * novelty


def past_age_rules(record: MemoryRecord, policy: ForgetPolicy, now: datetime) -> bool:
    """True when the age/inactivity rules of ``policy`` select ``record``."""
    age = (now - record.created_at).total_seconds() / _DAY
    inactive = (now - record.last_accessed).total_seconds() / _DAY
    max_age, max_inactive = policy.max_age_days, policy.max_inactive_days
    if max_age is not None and max_inactive is not None:
        return age > max_age * policy.hard_age_multiplier or (
            age > max_age and inactive > max_inactive)
    if max_age is not None:
        return age > max_age
    if max_inactive is not None:
        return inactive > max_inactive
    return False


class Selection:
    """Streams records through a policy; remembers what to delete and what it scanned."""

    def __init__(self, policy: ForgetPolicy, pinned_ids: Collection[str], now: datetime,
                 exclude_namespaces: Collection[str] = ()) -> None:
        self.policy = policy
        self.pinned = set(pinned_ids)
        self.now = now
        self.exclude = set(exclude_namespaces)
        self.scanned = 0
        self.by_age: list[str] = []
        self._kept: list[tuple[float, float, str]] = []  # min-heap of the budget's keepers
        self.over_budget: list[str] = []

    def add(self, record: MemoryRecord) -> None:
        """Consider one record."""
        self.scanned += 1
        if record.pinned or record.id in self.pinned or record.namespace in self.exclude:
            return
        allow = self.policy.memory_type_allowlist
        if allow is not None and record.memory_type.value not in allow:
            return
        if past_age_rules(record, self.policy, self.now):
            self.by_age.append(record.id)
            return
        if self.policy.budget is not None:
            entry = (recency_score(record, self.now), record.created_at.timestamp(), record.id)
            heapq.heappush(self._kept, entry)
            if len(self._kept) > self.policy.budget:
                self.over_budget.append(heapq.heappop(self._kept)[2])

    def selected(self, limit: int | None = None) -> list[str]:
        """Ids to delete: age-rule matches first, then the least recent over budget."""
        ids = self.by_age + self.over_budget
        return ids if limit is None else ids[:limit]


class ForgettingService:
    """Runs forgetting passes over long-term memory."""

    def __init__(self, store: ForgettableStore) -> None:
        self.store = store

    async def forget(self, policy: ForgetPolicy, scope: ForgetScope, *,
                     pinned_ids: Collection[str] = (), limit: int | None = None,
                     dry_run: bool = True, now: datetime | None = None,
                     deletion: Deletion | None = None) -> ForgetResponse:
        """One exhaustive pass over ``scope``; deletes unless ``dry_run`` (soft deletes,
        recorded as ``policy``; ``deletion`` names who asked)."""
        selection = Selection(policy, pinned_ids, now or utcnow(), scope.exclude_namespaces)
        if not policy.empty:
            async for batch in self.store.iter_scope(scope.namespace, scope.user_id,
                                                     scope.session_id, SCAN_BATCH):
                for record in batch:
                    selection.add(record)
        else:  # nothing can match: still report the scope's size, as AMS does
            async for batch in self.store.iter_scope(scope.namespace, scope.user_id,
                                                     scope.session_id, SCAN_BATCH):
                selection.scanned += len(batch)
        ids = selection.selected(limit)
        deleted = len(ids)
        if not dry_run:
            deleted = 0
            deletion = deletion or Deletion(POLICY, reason="forgetting policy")
            for start in range(0, len(ids), DELETE_BATCH):
                deleted += await self.store.delete_ids(ids[start:start + DELETE_BATCH],
                                                       deletion)
        return ForgetResponse(scanned=selection.scanned, deleted=deleted, deleted_ids=ids,
                              dry_run=dry_run)
