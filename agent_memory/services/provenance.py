"""Provenance: why a memory exists and what happened to it since.

Each write path records a ``created`` event (door, session, source message ids, ingestion
job, turn hash, extraction strategy, model, prompt version, task id, the candidates it
considered); later events record edits, tier moves, supersession, soft delete and restore.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

from agent_memory.models._types import utcnow
from agent_memory.models.records import MemoryRecord
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

    async def record_created(self, records: Sequence[MemoryRecord], final_ids: Sequence[str],
                             *, candidates: bool = False, **fields: Any) -> None:
        """Note where each of ``records`` ended up, in one round trip (see
        :meth:`created_commands`)."""
        await self.store.append_many(self._created(records, final_ids, candidates, fields))

    def created_commands(self, records: Sequence[MemoryRecord], final_ids: Sequence[str],
                         *, candidates: bool = False, **fields: Any) -> list[tuple[str, str, str]]:
        """Note where each of ``records`` (written together) ended up, in one round trip:
        a ``created`` event for each one stored under its own id, a ``merged`` event on the
        memory a skipped duplicate matched. ``fields`` are common to all (door, strategy,
        model, task id).

        Args:
            candidates: For an extraction batch: every ``created`` event also lists all
                candidates of the batch (text, category, decision ``created`` or
                ``merged``, the memory id it ended as). Off for client writes, whose
                batches can be large and whose only candidate is the memory itself.
        """
        return self.store.append_commands(self._created(records, final_ids, candidates, fields))

    def _created(self, records: Sequence[MemoryRecord], final_ids: Sequence[str],
                 candidates: bool, fields: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        listed = [{
            "extracted_text": r.text, "category": r.memory_type.value,
            "decision": "created" if fid == r.id else "merged", "memory_id": fid,
            "created_at": r.created_at.isoformat()}
            for r, fid in zip(records, final_ids, strict=True)] if candidates else []
        events: list[tuple[str, dict[str, Any]]] = []
        for n, (record, fid) in enumerate(zip(records, final_ids, strict=True)):
            own = {"session_id": record.session_id, "message_ids": record.extracted_from,
                   "strategy": record.extraction_strategy, **fields}
            if fid == record.id:
                events.append((fid, self._event("created", {
                    **own, "candidates": listed or None})))
            else:
                events.append((fid, self._event("merged", {**own, "candidate": listed[n] if listed
                                                           else {"decision": "merged",
                                                                 "source_id": record.id}})))
        return events


def prompt_version(template: str) -> str:
    """A short, stable version of a prompt template (its hash)."""
    return hashlib.sha256(template.encode()).hexdigest()[:12]
