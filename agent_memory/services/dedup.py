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
    groups: dict[tuple[object, ...], list[int]] = {}
    for row, scope in enumerate(scopes):
        groups.setdefault(tuple(scope), []).append(row)
    for rows in groups.values():
        if len(rows) < 2:
            continue
        # Per scope, not one batch-wide product: groups are small, and a large matrix
        # product wakes OpenBLAS's threads, which on a busy 2-core box costs milliseconds.
        sub = vectors[rows]
        close = np.tril((sub @ sub.T) >= 1.0 - threshold, k=-1)
        for a in np.nonzero(close.any(axis=1))[0]:
            for b in np.nonzero(close[a])[0]:
                if out[rows[b]] is None:  # the original must itself be kept
                    out[rows[a]] = rows[b]
                    break
    return out
