"""Duplicate detection for new long-term memories: AMS's content hash and batch planning.

Pure functions (no I/O); :class:`~agent_memory.services.long_term.LongTermService` does the
batched lookups.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from agent_memory.models.records import MemoryRecord


def memory_hash(record: MemoryRecord) -> str:
    """AMS's hash (ams-api.md §2.3), byte for byte, so hashes match records AMS wrote.

    sha256 of ``json.dumps({text, user_id, session_id, namespace, memory_type},
    sort_keys=True)`` with Python's default separators and ``ensure_ascii``.
    """
    payload = {
        "text": record.text,
        "user_id": record.user_id,
        "session_id": record.session_id,
        "namespace": record.namespace,
        "memory_type": record.memory_type.value,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def last_by_id(records: Sequence[MemoryRecord]) -> tuple[list[MemoryRecord], list[int]]:
    """Collapse repeated ids within a batch (the last one wins, as a later overwrite would).

    Returns the unique records and, for every input position, the index of its record in
    the unique list.
    """
    position: dict[str, int] = {}
    unique: list[MemoryRecord] = []
    where: list[int] = []
    for record in records:
        if record.id in position:
            unique[position[record.id]] = record
        else:
            position[record.id] = len(unique)
            unique.append(record)
        where.append(position[record.id])
    return unique, where


def near_duplicates_in_batch(vectors: npt.NDArray[np.float32], scopes: Sequence[tuple[object, ...]],
                             threshold: float) -> list[int | None]:
    """For each row, the index of an earlier row in the same scope within ``threshold``
    cosine distance (rows are unit vectors), else ``None``."""
    out: list[int | None] = [None] * len(scopes)
    if len(scopes) < 2:
        return out
    sims = vectors @ vectors.T
    for i in range(1, len(scopes)):
        for j in np.nonzero(sims[i, :i] >= 1.0 - threshold)[0]:
            if out[j] is None and scopes[j] == scopes[i]:
                out[i] = int(j)
                break
    return out
