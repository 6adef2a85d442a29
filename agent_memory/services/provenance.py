"""Provenance: why a memory exists and what happened to it since.

Each write path records a ``created`` event (door, session, source message ids, ingestion
job, turn hash, extraction strategy, model, prompt version, task id, the candidates it
considered); later events record edits, tier moves, supersession, soft delete and restore.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from agent_memory.models._types import utcnow
from agent_memory.storage.provenance import ProvenanceStore


class ProvenanceLog:
    """Records and reads memory provenance events."""

    def __init__(self, store: ProvenanceStore) -> None:
        self.store = store

    @staticmethod
    def _event(event: str, fields: dict[str, Any]) -> dict[str, Any]:
        return {"event": event, "at": utcnow().isoformat(),
                **{k: v for k, v in fields.items() if v is not None}}

    async def record(self, memory_id: str, event: str, **fields: Any) -> None:
        """Append ``event`` (``created``, ``edited``, ``tier_moved``, ``superseded``,
        ``deleted``, ``restored``, ...) with its fields to a memory's history."""
        await self.store.append(memory_id, self._event(event, fields))

    async def record_many(self, memory_ids: Iterable[str], event: str, **fields: Any) -> None:
        """The same event for several memories, in one round trip."""
        payload = self._event(event, fields)
        await self.store.append_many((mid, payload) for mid in memory_ids)

    async def history(self, memory_id: str) -> list[dict[str, Any]]:
        """A memory's events, oldest first."""
        return await self.store.history(memory_id)

    async def forget(self, memory_ids: Iterable[str]) -> int:
        """Drop the histories of memories purged or erased for good."""
        return await self.store.delete(memory_ids)
