"""Encode memory records as index hashes and decode them back (AMS's hash layout).

Differences from AMS, all read-compatible with hashes AMS wrote: a ``None``
namespace/user/session is left out of the hash (the index marks it missing, so "no
namespace" can be queried) instead of being written as ``""``; ``""`` still decodes as
``None``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from agent_memory.models._types import from_epoch
from agent_memory.models.records import MemoryRecord, MemoryTypeEnum
from agent_memory.storage.ltm_schema import VECTOR_FIELD

R = TypeVar("R", bound=MemoryRecord)

_TYPES = {t.value: t for t in MemoryTypeEnum}
_LISTS = ("topics", "entities", "extracted_from")
_TIMES = ("created_at", "last_accessed", "updated_at", "persisted_at", "event_date")
_OPTIONAL_STR = ("session_id", "user_id", "namespace")

# Every stored field except the vector: what searches ask RediSearch to return.
RETURN_FIELDS = [
    "text", "id_", "session_id", "user_id", "namespace", "memory_type", "topics", "entities",
    "extracted_from", "memory_hash", "discrete_memory_extracted", "pinned", "access_count",
    "extraction_strategy", "extraction_strategy_config", "metadata", *_TIMES,
]


def encode(record: MemoryRecord, vector: npt.NDArray[np.float32] | bytes | None) -> dict[str, Any]:
    """The hash fields of ``record`` (``vector`` as little-endian float32 bytes)."""
    out: dict[str, Any] = {
        "text": record.text,
        "id_": record.id,
        "memory_type": record.memory_type.value,
        "memory_hash": record.memory_hash or "",
        "discrete_memory_extracted": record.discrete_memory_extracted,
        "pinned": "1" if record.pinned else "0",
        "access_count": record.access_count,
        "extraction_strategy": record.extraction_strategy or "",
        "extraction_strategy_config": json.dumps(record.extraction_strategy_config, sort_keys=True),
        "metadata": json.dumps(record.metadata, sort_keys=True),
    }
    for name in _OPTIONAL_STR:
        value = getattr(record, name)
        if value is not None:
            out[name] = value
    for name in _LISTS:
        values = getattr(record, name)
        if values:
            out[name] = ",".join(values)
    for name in _TIMES:
        value = getattr(record, name)
        if value is not None:
            out[name] = value.timestamp()  # float: keeps sub-second precision
    if vector is not None:
        out[VECTOR_FIELD] = vector if isinstance(vector, bytes) else vector.astype(
            np.float32, copy=False).tobytes()
    return out


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    return value if value != "" else None


def _json(value: Any) -> dict[str, Any]:
    raw = _text(value)
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def decode(fields: Mapping[Any, Any], cls: type[R] = MemoryRecord,  # type: ignore[assignment]
           **extra: Any) -> R:
    """A record (``cls``, e.g. a search result with ``extra`` fields such as ``dist``) from
    hash fields (bytes or str keys/values; the vector is ignored)."""
    data = {(k.decode() if isinstance(k, bytes) else k): v for k, v in fields.items()}
    record: dict[str, Any] = {
        "id": _text(data.get("id_")) or "",
        "text": _text(data.get("text")) or "",
        "memory_hash": _text(data.get("memory_hash")),
        "pinned": _text(data.get("pinned")) in ("1", "true", "True"),
        "access_count": int(float(_text(data.get("access_count")) or 0)),
        "extraction_strategy_config": _json(data.get("extraction_strategy_config")),
        "metadata": _json(data.get("metadata")),
    }
    for name in _OPTIONAL_STR:
        record[name] = _text(data.get(name))
    memory_type = _text(data.get("memory_type"))
    if memory_type in _TYPES:
        record["memory_type"] = _TYPES[memory_type]
    elif memory_type:
        record["memory_type"] = memory_type  # unknown: validation below reports it
    extracted = _text(data.get("discrete_memory_extracted"))
    if extracted in ("t", "f"):
        record["discrete_memory_extracted"] = extracted
    strategy = _text(data.get("extraction_strategy"))
    record["extraction_strategy"] = strategy or (
        "message" if memory_type == "message" else "discrete")
    for name in _LISTS:
        raw = _text(data.get(name))
        # AMS once used "|" as the separator; accept both.
        record[name] = [v for v in raw.replace("|", ",").split(",") if v] if raw else None
    for name in _TIMES:
        raw = _text(data.get(name))
        if raw is not None:
            record[name] = from_epoch(raw)
    record.update(extra)
    if record["id"] and isinstance(record.get("memory_type", MemoryTypeEnum.message),
                                   MemoryTypeEnum):
        # Every value above already has its model type (hashes are written from validated
        # records), so skip re-validation: it was most of a search's Python time.
        return cls.model_construct(**record)
    return cls.model_validate(record)
