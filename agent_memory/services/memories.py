"""The memories door: rows with importance, tags, a TTL and a tier, over the shared
long-term store (one ``memory_idx:<id>`` record whichever door wrote it).

Add stores the row and answers at once. Without a model the enrichment rules run inline
(they cost microseconds) and the answer is complete; with a model the answer lists the
fields still ``pending`` and a Docket task fills them in (see ``services/enrichment.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from agent_memory.clock import Clock
from agent_memory.errors import ClientError, NotFound, ValidationFailed
from agent_memory.llm import ChatModel
from agent_memory.models._types import from_epoch
from agent_memory.models.memories import (
    DEFAULT_IMPORTANCE,
    ENRICHED_FIELDS,
    AddMemoryRequest,
    EditMemoryRequest,
    Enrichment,
    MemoryResponse,
    wire_id,
)
from agent_memory.models.records import MemoryRecord, MemoryTypeEnum
from agent_memory.principal import Principal
from agent_memory.services import enrichment as enrich
from agent_memory.services.lifecycle import lifecycle_of
from agent_memory.services.long_term import LongTermService
from agent_memory.services.provenance import ProvenanceLog
from agent_memory.settings import Settings
from agent_memory.storage.memories import MemoriesStore

log = logging.getLogger(__name__)

DOOR = "memories"
R = TypeVar("R", bound=MemoryResponse)
Schedule = Callable[[str, str], Awaitable[None]]  # (memory id, text version)


def pending_enrichment() -> dict[str, Any]:
    """The ``enrichment`` JSON of a row waiting for the model."""
    return {"status": "pending", "method": None, "pending": list(ENRICHED_FIELDS)}


def to_response(record: MemoryRecord, settings: Settings, cls: type[R] = MemoryResponse,  # type: ignore[assignment]
                **extra: Any) -> R:
    """A stored record in this door's shape (rows of other doors get the defaults);
    ``cls``/``extra`` build a subclass such as a recall hit in one step."""
    found = record.enrichment or {}
    status = found.get("status", "done" if record.enrichment else "pending")
    state = Enrichment(status=status, method=found.get("method"),
                       pending=list(found.get("pending") or []), note=found.get("note"))
    if record.enrichment is None:  # written by another door: never enriched here
        state = Enrichment(status="done", method=None, note="not written by this door")
    return cls(
        id=wire_id(record.id) or record.id, user_id=wire_id(record.user_id),
        text=record.text, summary=found.get("summary"), created_at=record.created_at,
        updated_at=record.updated_at, metadata=record.metadata, tags=record.tags or [],
        source=record.source, event_type=record.event_type, tier=record.tier,
        importance=DEFAULT_IMPORTANCE if record.importance is None else record.importance,
        is_summary=record.is_summary, expires_at=record.expires_at,
        key_points=list(found.get("key_points") or []),
        quality_score=found.get("quality_score"), memory_type=found.get("memory_type"),
        namespace=record.namespace, session_id=record.session_id,
        covers=[wire_id(c) or c for c in record.covers] if record.covers else None,
        summary_id=wire_id(record.summary_id), enrichment=state,
        lifecycle=lifecycle_of(record, settings), **extra)


class MemoriesService:
    """Add, read, edit and enrich rows of the memories door.

    Args:
        long_term: The shared long-term service (writes, reads, deletes).
        store: Id counter and per-row touches.
        clock: "Now" for timestamps, TTLs and tiers.
        schedule_enrichment: Enqueues the enrichment task for an id (``None``: no queue,
            so rows are enriched by rules inline even when a model is configured).
    """

    def __init__(self, long_term: LongTermService, store: MemoriesStore, settings: Settings,
                 clock: Clock, llm: ChatModel | None = None,
                 provenance: ProvenanceLog | None = None,
                 schedule_enrichment: Schedule | None = None) -> None:
        self.long_term = long_term
        self.store = store
        self.settings = settings
        self.clock = clock
        self.llm = llm
        self.provenance = provenance
        self.schedule_enrichment = schedule_enrichment

    def _check_text(self, text: str) -> None:
        cap = getattr(self.settings, "max_text_chars", None)
        if cap is not None and len(text) > cap:
            raise ValidationFailed(
                f"text is longer than {cap} characters",
                details=[{"type": "string_too_long", "loc": ["body", "text"],
                          "msg": f"at most {cap} characters"}])

    @property
    def _model_enrichment(self) -> bool:
        return self.llm is not None and self.schedule_enrichment is not None

    async def add(self, principal: Principal, body: AddMemoryRequest) -> MemoryResponse:
        """Store one row (searchable before this returns) and start its enrichment."""
        self._check_text(body.text)
        namespace = principal.scope_namespace(body.namespace)
        user_id = principal.scope_user(body.user_id)
        now = self.clock.now()
        at = from_epoch(now)
        assert at is not None
        rules = None if self._model_enrichment else enrich.by_rules(
            body.text, event_type=body.event_type, importance=body.importance)
        record = MemoryRecord(
            id="new", text=body.text, user_id=user_id, namespace=namespace,
            session_id=body.session_id, created_at=at, updated_at=at, last_accessed=at,
            memory_type=MemoryTypeEnum.semantic, discrete_memory_extracted="t",
            metadata=body.metadata, tags=body.tags or None, source=body.source,
            event_type=body.event_type, tier="hot", importance=body.importance,
            expires_at=at + timedelta(minutes=body.ttl_minutes) if body.ttl_minutes else None,
            enrichment=rules.fields() if rules is not None else pending_enrichment())
        # One round trip: the id comes from the counter as the row is written.
        record = await self.long_term.write_new(record, self.store.counter_key)
        await self._record_created(record, rules)
        if rules is None:
            await self.schedule_enrichment(record.id, repr(now))  # type: ignore[misc]
        return to_response(record, self.settings)

    async def _record_created(self, record: MemoryRecord, rules: enrich.Enriched | None) -> None:
        if self.provenance is None:
            return
        candidates = None
        if rules is not None:
            candidates = [enrich.candidate(rules, record.id, record.created_at.isoformat(),
                                           record.text)]
        await self.provenance.record(record.id, "created", door=DOOR,
                                     session_id=record.session_id,
                                     strategy="rules" if rules is not None else "model",
                                     candidates=candidates)

    async def get(self, principal: Principal, memory_id: str) -> MemoryResponse:
        """One row (any door's); reading it is an access, so it is hot again."""
        record = await self.long_term.get(principal, memory_id)
        now = self.clock.now()
        (touched,) = await self.store.touch([record.id], now,
                                            self.settings.last_accessed_interval_seconds)
        if not touched:
            raise NotFound.for_memory(memory_id)
        if touched == 2:  # written now (else: hot already and read within the interval)
            update: dict[str, Any] = {"last_accessed": from_epoch(now),
                                      "access_count": record.access_count + 1}
            if record.tier is not None:
                update["tier"] = "hot"
            record = record.model_copy(update=update)
        return to_response(record, self.settings)

    async def edit(self, principal: Principal, memory_id: str,
                   body: EditMemoryRequest) -> MemoryResponse:
        """Change text, tags, metadata, importance or TTL; a new text is enriched again."""
        record = await self.long_term.get(principal, memory_id)
        if body.text is not None:
            self._check_text(body.text)
        now = self.clock.now()
        at = from_epoch(now)
        assert at is not None
        fields = body.model_fields_set
        update: dict[str, Any] = {"updated_at": at, "last_accessed": at}
        if record.tier is not None:
            update["tier"] = "hot"
        if "tags" in fields:
            update["tags"] = body.tags or None
        if "metadata" in fields:
            update["metadata"] = body.metadata
        if "importance" in fields:
            update["importance"] = body.importance
        if "ttl_minutes" in fields:
            update["expires_at"] = (at + timedelta(minutes=body.ttl_minutes)
                                    if body.ttl_minutes is not None else None)
        new_text = "text" in fields and body.text != record.text
        rules = None
        if new_text:
            update["text"] = body.text
            if self._model_enrichment:
                update["enrichment"] = pending_enrichment()
            else:
                rules = enrich.by_rules(body.text or "", event_type=record.event_type,
                                        importance=update.get("importance", record.importance))
                update["enrichment"] = rules.fields()
        updated = MemoryRecord.model_validate({**record.model_dump(), **update})
        await self.long_term.index_records([updated], deduplicate=False)
        if self.provenance is not None:
            await self.provenance.record(record.id, "edited", door=DOOR,
                                         fields=sorted(fields))
        if new_text and rules is None:
            await self.schedule_enrichment(record.id, repr(now))  # type: ignore[misc]
        (stored,) = await self.long_term.store.get_many([record.id])
        if stored is None:
            raise NotFound.for_memory(memory_id)
        return to_response(stored, self.settings)

    async def enrich(self, memory_id: str) -> str:
        """The enrichment task's body: fill a pending row in; a no-op when the row is gone,
        expired or already enriched (safe to redeliver). Returns what happened."""
        (record,) = await self.long_term.store.get_many([memory_id])
        if record is None:
            return "gone"
        if (record.enrichment or {}).get("status") != "pending":
            return "already enriched"
        if self.llm is not None:
            try:
                result = await enrich.by_model(
                    self.llm, self.settings.generation_model, record.text,
                    event_type=record.event_type, tags=record.tags or [],
                    importance=record.importance)
            except ClientError:
                raise
            except Exception as exc:  # noqa: BLE001 - fall back below, say so
                log.warning("enrichment model call failed for a memory: %s", type(exc).__name__)
                result = enrich.by_rules(record.text, event_type=record.event_type,
                                         importance=record.importance,
                                         note="model unavailable; rules used")
        else:
            result = enrich.by_rules(record.text, event_type=record.event_type,
                                     importance=record.importance)
        written = await self.store.set_fields(
            {memory_id: {"enrichment": _json(result.fields())}})
        if written and self.provenance is not None:
            await self.provenance.record(
                memory_id, "enriched", door=DOOR, strategy=result.method,
                model=self.settings.generation_model if result.method == "model" else None,
                prompt_version=enrich.PROMPT_VERSION if result.method == "model" else None,
                candidates=[enrich.candidate(result, memory_id, record.created_at.isoformat(),
                                             record.text)])
        return result.method if written else "gone"

    async def candidates(self, principal: Principal, memory_id: str) -> list[dict[str, Any]]:
        """The extraction candidates recorded for a row ("why was I created")."""
        await self.long_term.get(principal, memory_id)
        if self.provenance is None:
            return []
        out: list[dict[str, Any]] = []
        for event in await self.provenance.history(memory_id):
            out.extend(event.get("candidates") or [])
        return out


def _json(value: dict[str, Any]) -> str:
    import json

    return json.dumps(value, sort_keys=True)
