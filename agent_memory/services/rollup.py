"""The summarizer: related cold rows of one user rolled up into a summary row.

A scheduled pass looks at cold rows that are neither summaries nor covered yet, per
namespace and user. Rows are related when they share a tag or their stored vectors are
within ``MEMORIES_SUMMARY_MAX_DISTANCE`` (cosine); grouping is greedy in id order (each
uncovered row in turn gathers the uncovered rows related to it), and a group of at least
``MEMORIES_SUMMARY_MIN_ROWS`` becomes one summary row: ``is_summary: true``, ``covers`` the
ids, the union of their tags, their highest importance, and the earliest expiry of any of
them (a summary never outlives what it repeats). With a model the text is written by it;
without, it is extractive: the first sentence of each covered row, joined. Covered rows stay
readable and get ``summary_id``; recall returns summary rows only with
``include_summaries``.

Redelivery is safe: a group's summary id is recorded under a digest of its ids before the
row is written, so a second run rewrites the same row instead of adding another.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict

import numpy as np
from redisvl.query.filter import Tag

from agent_memory.clock import Clock
from agent_memory.llm import ChatModel
from agent_memory.models._types import from_epoch
from agent_memory.models.records import MemoryRecord, MemoryTypeEnum
from agent_memory.services.enrichment import first_sentence
from agent_memory.services.lifecycle import PassResult
from agent_memory.services.long_term import LongTermService
from agent_memory.services.provenance import ProvenanceLog
from agent_memory.settings import Settings
from agent_memory.storage.filters import tag_missing, tag_not_in
from agent_memory.storage.ltm_schema import VECTOR_FIELD
from agent_memory.storage.memories import MemoriesStore

log = logging.getLogger(__name__)

MAX_ROWS_PER_USER = 500  # per pass; the next pass continues
SUMMARY_CHARS = 2000
_PROMPT = ("Summarize these related memories of one user in one to three sentences. Keep "
           "names, numbers and decisions; add nothing.\n\n{items}")


def _order(memory_id: str) -> tuple[int, str]:
    return (int(memory_id), "") if memory_id.isdigit() else (1 << 62, memory_id)


def group_rows(records: list[MemoryRecord], vectors: list[np.ndarray | None],
               max_distance: float, min_rows: int) -> list[list[MemoryRecord]]:
    """Greedy groups of related rows (see the module docs), in id order."""
    order = sorted(range(len(records)), key=lambda i: _order(records[i].id))
    dims = next((len(v) for v in vectors if v is not None), 0)
    matrix = np.zeros((len(records), dims), dtype=np.float32)
    for i, v in enumerate(vectors):
        norm = float(np.linalg.norm(v)) if v is not None and len(v) == dims else 0.0
        if norm > 0:
            matrix[i] = v / norm  # type: ignore[operator]
    # Cosine distance of every pair at once; a row without a vector is related by tags only.
    close = (1.0 - matrix @ matrix.T) <= max_distance
    has_vector = matrix.any(axis=1)
    close &= has_vector[:, None] & has_vector[None, :]
    tag_sets = [set(r.tags or []) for r in records]
    taken: set[int] = set()
    groups = []
    for i in order:
        if i in taken:
            continue
        taken.add(i)
        members = [i] + [j for j in order if j not in taken
                         and (close[i, j] or tag_sets[i] & tag_sets[j])]
        if len(members) >= min_rows:
            taken.update(members)
            groups.append([records[m] for m in members])
    return groups


class Summarizer:
    """Writes summary rows for related cold rows."""

    def __init__(self, long_term: LongTermService, store: MemoriesStore, settings: Settings,
                 clock: Clock, llm: ChatModel | None = None,
                 provenance: ProvenanceLog | None = None) -> None:
        self.long_term = long_term
        self.store = store
        self.settings = settings
        self.clock = clock
        self.llm = llm
        self.provenance = provenance

    async def run(self) -> PassResult:
        """One pass over every user's uncovered cold rows; returns rows examined and
        summary rows written."""
        lt = self.long_term.store
        # Expired rows are dropped by the read below (get_many checks expiry).
        where = ((Tag("tier") == "cold") & tag_not_in("is_summary", ["1"])
                 & tag_missing("summary_id"))
        scopes: dict[tuple[str | None, str | None], list[str]] = defaultdict(list)
        async for rows in lt.iter_fields(where, ("id_", "namespace", "user_id"), 1000):
            for memory_id, namespace, user_id in rows:
                if memory_id and len(scopes[(namespace, user_id)]) < MAX_ROWS_PER_USER:
                    scopes[(namespace, user_id)].append(memory_id)
        result = PassResult()
        for ids in scopes.values():
            records = [r for r in await lt.get_many(ids) if r is not None]
            result.examined += len(records)
            raw = await lt.mux.batch([("HGET", lt.key(r.id), VECTOR_FIELD) for r in records])
            vectors = [np.frombuffer(v, dtype=np.float32) if v else None for v in raw]
            for group in group_rows(records, vectors, self.settings.memories_summary_max_distance,
                                    self.settings.memories_summary_min_rows):
                await self._write(group)
                result.changed += 1
        return result

    async def _text(self, group: list[MemoryRecord]) -> tuple[str, str]:
        """The summary text and how it was made (``model`` or ``rules``)."""
        if self.llm is not None:
            items = "\n".join(f"- {r.text}" for r in group)
            try:
                text = await self.llm.complete(
                    [{"role": "user", "content": _PROMPT.format(items=items)}],
                    model=self.settings.generation_model)
                if text.strip():
                    return text.strip()[:SUMMARY_CHARS], "model"
            except Exception as exc:  # noqa: BLE001 - extractive below, and say so
                log.warning("summary model call failed: %s", type(exc).__name__)
        text = " ".join(first_sentence(r.text) for r in group)
        return text[:SUMMARY_CHARS], "rules"

    async def _write(self, group: list[MemoryRecord]) -> None:
        covers = sorted((r.id for r in group), key=_order)
        digest = hashlib.blake2b(",".join(covers).encode(), digest_size=12).hexdigest()
        summary_id = await self.store.group_summary_id(digest, await self.store.next_id())
        text, method = await self._text(group)
        at = from_epoch(self.clock.now())
        tags = sorted({t for r in group for t in (r.tags or [])})
        expiries = [r.expires_at for r in group if r.expires_at is not None]
        first = group[0]
        row = MemoryRecord(
            id=summary_id, text=text, namespace=first.namespace, user_id=first.user_id,
            created_at=at, updated_at=at, last_accessed=at,  # type: ignore[arg-type]
            memory_type=MemoryTypeEnum.semantic, discrete_memory_extracted="t",
            tags=tags or None, source="summarizer", tier="hot",
            importance=max((r.importance or 0.5) for r in group),
            expires_at=min(expiries) if expiries else None, is_summary=True, covers=covers,
            enrichment={"status": "done", "method": method, "pending": [],
                        "memory_type": "summary", "summary": first_sentence(text),
                        "key_points": [first_sentence(r.text) for r in group][:5],
                        "quality_score": None,
                        "note": None if method == "model" else
                        "extractive: the first sentence of each covered row"})
        await self.long_term.index_records([row], deduplicate=False)
        await self.store.set_fields({memory_id: {"summary_id": summary_id}
                                     for memory_id in covers})
        if self.provenance is not None:
            await self.provenance.record(summary_id, "created", door="memories",
                                         strategy=f"summary:{method}", covers=covers)
            await self.provenance.record_many(covers, "summarized", summary_id=summary_id)
