"""Forget with a reason, restore within the grace period, purge after it.

The forget route and every other delete share ``LongTermService.soft_delete``; this
service adds what only the trash needs: the method rules of the forget route, restore (a
rename back, so the index picks the memory up again at once), and the scheduled purge.
"""

from __future__ import annotations

import time

from agent_memory.errors import FeatureDisabled, Gone, IdInUse, NotFound
from agent_memory.models.audit import ProvenanceResponse
from agent_memory.models.forgetting import (
    ForgetMemoriesRequest,
    ForgetMemoriesResponse,
    RestoreResponse,
)
from agent_memory.principal import Principal
from agent_memory.services.deletion import Deletion, DeletionTrail, deletion_method
from agent_memory.services.long_term import LongTermService
from agent_memory.services.session_context import link_sessions
from agent_memory.settings import Settings

PURGE_BATCH = 500


class TrashService:
    """Soft delete on request, restore and purge.

    Args:
        long_term: The long-term service (``None`` when long-term memory is off).
        trail: Where deletes, restores and purges are reported.
        settings: ``SOFT_DELETE_GRACE_DAYS``.
    """

    def __init__(self, long_term: LongTermService | None, trail: DeletionTrail,
                 settings: Settings) -> None:
        self.long_term = long_term
        self.trail = trail
        self.settings = settings

    @property
    def grace_seconds(self) -> float:
        return self.settings.soft_delete_grace_days * 86400

    def _lt(self) -> LongTermService:
        if self.long_term is None:
            raise FeatureDisabled("Long-term memory is disabled")
        return self.long_term

    async def forget(self, principal: Principal,
                     request: ForgetMemoriesRequest) -> ForgetMemoriesResponse:
        """Soft-delete the caller's memories among the ids; the rest are ``not_found``
        (another tenant's memory answers exactly like a missing one)."""
        long_term = self._lt()
        ids = request.ids()
        scopes = await long_term.store.scope_of(ids)
        mine = [i for i, s in zip(ids, scopes, strict=True)
                if s is not None and principal.allows(s[0], s[1])]
        method = deletion_method(request.reason, request.method)
        moved = await long_term.soft_delete(mine, Deletion(
            method, reason=request.reason, principal=principal, action="memory.forget"))
        gone = set(moved)
        return ForgetMemoriesResponse(
            forgotten=moved, not_found=[i for i in ids if i not in gone], method=method,
            reason=request.reason,
            purge_after=long_term.purge_after(time.time()) if moved else None,
            grace_days=self.settings.soft_delete_grace_days)

    async def restore(self, principal: Principal, memory_id: str) -> RestoreResponse:
        """Bring one memory back from the trash within the grace period.

        Raises:
            NotFound: not in the trash, or another tenant's.
            Gone: the grace period is over (the purge has not run yet).
            IdInUse: a new memory was stored under the same id meanwhile.
        """
        long_term = self._lt()
        trashed = await long_term.trash.get(memory_id)
        if trashed is None or not principal.allows(trashed.namespace, trashed.user_id):
            raise NotFound(f"Memory {memory_id} is not in the trash",
                           details={"memory_id": memory_id})
        outcome = await long_term.trash.move_out(memory_id, time.time() - self.grace_seconds)
        if outcome == 0:
            raise NotFound(f"Memory {memory_id} is not in the trash",
                           details={"memory_id": memory_id})
        if outcome == -1:
            raise IdInUse(f"Memory {memory_id} cannot be restored: its id is in use again",
                          details={"memory_id": memory_id})
        if outcome == -2:
            raise Gone(f"Memory {memory_id} cannot be restored: its grace period is over",
                       details={"memory_id": memory_id})
        (record,) = await long_term.store.get_many([memory_id])
        if record is not None:  # its session neighbours point at it again
            await link_sessions(long_term.searcher.ranker.store, [record])
        await self.trail.restored(memory_id, trashed.namespace, trashed.user_id, principal,
                                  trashed.method)
        return RestoreResponse(id=memory_id, namespace=trashed.namespace,
                               user_id=trashed.user_id, deleted_method=trashed.method)

    async def purge(self, now: float | None = None) -> int:
        """Remove for good every memory trashed longer than the grace period, with its
        provenance; one audit event per tenant and batch. Idempotent."""
        if self.long_term is None:
            return 0
        cutoff = (now if now is not None else time.time()) - self.grace_seconds
        trash = self.long_term.trash
        total = 0
        while ids := await trash.due(cutoff, PURGE_BATCH):
            purged, vanished = await trash.purge(ids, cutoff)
            await self.trail.purged(purged, self.settings.soft_delete_grace_days)
            await self.trail.provenance.forget(vanished)
            total += len(purged)
            if len(ids) < PURGE_BATCH:
                break
        return total

    async def provenance(self, principal: Principal, memory_id: str) -> ProvenanceResponse:
        """A live or trashed memory's provenance; 404 when neither (or another tenant's)."""
        long_term = self._lt()
        (scope,) = await long_term.store.scope_of([memory_id])
        state = "live"
        if scope is None:
            trashed = await long_term.trash.get(memory_id)
            scope = None if trashed is None else (trashed.namespace, trashed.user_id)
            state = "trashed"
        if scope is None or not principal.allows(scope[0], scope[1]):
            raise NotFound.for_memory(memory_id)
        events = await self.trail.provenance.history(memory_id)
        created = next((e for e in events if e.get("event") == "created"), None)
        return ProvenanceResponse(memory_id=memory_id, state=state, created=created,
                                  events=events)
