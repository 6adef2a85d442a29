"""Session context: index each memory of a session with its neighbours' text.

In a conversation a reply often carries the answer while the message before it carries
the words a later question uses ("What are your pets' names?" / "Luna and Oliver!"). So a
memory with a ``session_id`` gets two extra full-text fields, the text of the previous and
of the next memory of the same session *and the same type* (same namespace and user,
ordered by ``created_at``, then by arrival: position in the request, and a new memory
after the stored ones of the same instant): messages next to messages,
episodic memories next to episodic ones, so a conversation stored either way gets the same
context and a fact never borrows a raw message's words. Ranking weighs them below the
memory's own text (services/ranking.py). They are never returned as memory fields.

After each write, :func:`link_sessions` sets the fields of the new memories and updates the
stored ones right before and after each new run of a session: one pipelined lookup and one
pipelined write per batch, nothing for memories without a session.

An edited message is linked again like a new one (:func:`link_sessions`). When messages
are deleted, :func:`unlink_sessions` points the stored messages around each of them at
each other: no deleted text stays in another memory's context fields.

Known limits: a message inserted *between* two stored ones links only to its nearest stored
neighbours on each side of its batch; a message whose session or time is edited leaves its
old neighbours pointing at it until one of them is written again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from agent_memory.models.records import MemoryRecord, MemoryTypeEnum
from agent_memory.storage.lexical import LexicalStore, Neighbour

# A neighbour's text beyond this is cut: context should hint, not swamp the memory's own.
MAX_CONTEXT_CHARS = 1000

_Key = tuple[str | None, str | None, str, str]


def _clip(text: str) -> str:
    return text[:MAX_CONTEXT_CHARS]


def session_runs(records: Sequence[MemoryRecord]) -> dict[_Key, list[MemoryRecord]]:
    """New memories grouped by ``(namespace, user_id, session_id, memory_type)``, each run
    in time order (request order among equal times); memories without a session are left
    out."""
    runs: dict[_Key, list[MemoryRecord]] = defaultdict(list)
    for record in records:
        if record.session_id:
            kind = MemoryTypeEnum(record.memory_type).value
            runs[(record.namespace, record.user_id, record.session_id, kind)].append(record)
    for run in runs.values():
        run.sort(key=lambda r: r.created_at)  # stable: keeps request order on ties
    return dict(runs)


def edge_groups(runs: dict[_Key, list[MemoryRecord]]
                ) -> list[tuple[str | None, str | None, str, str, float, float, frozenset[str]]]:
    """What :meth:`LexicalStore.session_edges` looks up for ``runs`` (:func:`session_runs`)."""
    return [(ns, user, session, kind, run[0].created_at.timestamp(),
             run[-1].created_at.timestamp(), frozenset(r.id for r in run))
            for (ns, user, session, kind), run in runs.items()]


def context_updates(runs: dict[_Key, list[MemoryRecord]],
                    edges: Sequence[tuple[Neighbour | None, Neighbour | None]]
                    ) -> dict[str, dict[str, str]]:
    """The context fields of the new memories in ``runs`` and of their stored neighbours
    ``edges`` (as :meth:`LexicalStore.session_edges` found them)."""
    updates: dict[str, dict[str, str]] = {}
    for run, (before, after) in zip(runs.values(), edges, strict=True):
        for i, record in enumerate(run):
            prev = run[i - 1].text if i > 0 else (before.text if before else "")
            nxt = run[i + 1].text if i + 1 < len(run) else (after.text if after else "")
            updates[record.id] = {"context_prev": _clip(prev), "context_next": _clip(nxt)}
        if before is not None:
            updates.setdefault(before.memory_id, {})["context_next"] = _clip(run[0].text)
        if after is not None:
            updates.setdefault(after.memory_id, {})["context_prev"] = _clip(run[-1].text)
    return updates


async def link_sessions(store: LexicalStore, records: Sequence[MemoryRecord]) -> int:
    """Write the context fields of just-stored ``records`` and of their stored neighbours.

    Returns:
        How many memories got context fields written.
    """
    runs = session_runs(records)
    if not runs:
        return 0
    updates = context_updates(runs, await store.session_edges(edge_groups(runs),
                                                              arrived=True))
    await store.set_context(updates)
    return len(updates)


async def unlink_sessions(store: LexicalStore, removed: Sequence[MemoryRecord]) -> int:
    """After ``removed`` were deleted, link the stored messages that were around each of them
    to each other (or to nothing). Returns how many memories got context fields written."""
    runs = session_runs(removed)
    if not runs:
        return 0
    gone = frozenset(r.id for r in removed)
    doomed = [r for run in runs.values() for r in run]
    edges = await store.session_edges([
        (r.namespace, r.user_id, r.session_id or "", MemoryTypeEnum(r.memory_type).value,
         r.created_at.timestamp(), r.created_at.timestamp(), gone) for r in doomed])
    updates: dict[str, dict[str, str]] = {}
    for before, after in edges:
        if before is not None:
            updates.setdefault(before.memory_id, {})["context_next"] = \
                _clip(after.text) if after else ""
        if after is not None:
            updates.setdefault(after.memory_id, {})["context_prev"] = \
                _clip(before.text) if before else ""
    await store.set_context(updates)
    return len(updates)
