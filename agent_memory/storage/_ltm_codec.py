"""Encode memory records as index hashes and decode them back (AMS's hash layout).

Differences from AMS, all read-compatible with hashes AMS wrote: a ``None``
namespace/user/session is left out of the hash (the index marks it missing, so "no
namespace" can be queried) instead of being written as ``""``; ``""`` still decodes as
``None``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
from pydantic import ValidationError

from agent_memory.models._types import from_epoch
from agent_memory.models.records import MemoryRecord, MemoryTypeEnum
from agent_memory.storage.ltm_schema import VECTOR_FIELD

R = TypeVar("R", bound=MemoryRecord)

_TYPES = {t.value: t for t in MemoryTypeEnum}
_LISTS = ("topics", "entities", "extracted_from")
_TIMES = ("created_at", "last_accessed", "updated_at", "persisted_at", "event_date")
_OPTIONAL_STR = ("session_id", "user_id", "namespace")
# Optional fields of the memories door (issue 14), written only when set.
_DOOR_TAGS = ("source", "event_type", "tier", "summary_id")
_DOOR_FIELDS = ("tags", *_DOOR_TAGS, "importance", "expires_at", "is_summary", "covers",
                "enrichment")

# Every stored field a record is read from (not the vector), in the order ``decode`` takes.
FIELDS = (
    "id_", "text", "session_id", "user_id", "namespace", "memory_type", "topics", "entities",
    "extracted_from", "memory_hash", "discrete_memory_extracted", "pinned", "access_count",
    "extraction_strategy", "extraction_strategy_config", "metadata", *_TIMES, *_DOOR_FIELDS,
)
EXPIRES_AT = FIELDS.index("expires_at")


def metadata_digests(metadata: dict[str, Any]) -> list[str]:
    """One short digest per scalar ``key: value`` pair of ``metadata``: stored in the
    ``metadata_kv`` tag so equality filters on metadata are index lookups, with no escaping
    of user text (the same digest is computed for the filter value)."""
    out = []
    for key, value in metadata.items():
        if value is None or isinstance(value, (str, int, float, bool)):
            out.append(metadata_digest(key, value))
    return out


def metadata_digest(key: str, value: object) -> str:
    """The digest of one metadata pair (see :func:`metadata_digests`)."""
    raw = json.dumps([key, value], sort_keys=True, ensure_ascii=False)
    return hashlib.blake2b(raw.encode(), digest_size=8).hexdigest()


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
    if record.metadata:
        digests = metadata_digests(record.metadata)
        if digests:
            out["metadata_kv"] = ",".join(digests)
    for name in _DOOR_TAGS:
        value = getattr(record, name)
        if value is not None:
            out[name] = value
    if record.tags:
        out["tags"] = ",".join(record.tags)
    if record.importance is not None:
        out["importance"] = record.importance
    if record.expires_at is not None:
        out["expires_at"] = record.expires_at.timestamp()
    if record.is_summary:
        out["is_summary"] = "1"
    if record.covers:
        out["covers"] = json.dumps(record.covers)
    if record.enrichment is not None:
        out["enrichment"] = json.dumps(record.enrichment, sort_keys=True)
    if vector is not None:
        out[VECTOR_FIELD] = vector if isinstance(vector, bytes) else vector.astype(
            np.float32, copy=False).tobytes()
    return out


def _str(value: bytes | None) -> str | None:
    """A stored value as text; ``None`` when absent or empty."""
    return value.decode("utf-8", "replace") or None if value is not None else None


def _json(value: bytes | None) -> dict[str, Any]:
    if not value or value == b"{}":  # the usual case, without a parse
        return {}
    try:
        parsed = json.loads(value)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _json_list(value: bytes | None) -> list[str] | None:
    if not value:
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    return [str(v) for v in parsed] if isinstance(parsed, list) else None


def _list(value: bytes | None) -> list[str] | None:
    if not value:
        return None
    # AMS once used "|" as the separator; accept both.
    return [v for v in value.decode("utf-8", "replace").replace("|", ",").split(",") if v]


def decode(row: Sequence[bytes | None], cls: type[R] = MemoryRecord,  # type: ignore[assignment]
           **extra: Any) -> R:
    """A record (``cls``, e.g. a search result with ``extra`` fields such as ``dist``) from
    the values of :data:`FIELDS`, in that order, as ``HMGET`` returns them."""
    (id_, text, session_id, user_id, namespace, memory_type, topics, entities, extracted_from,
     memory_hash, extracted, pinned, access_count, strategy, strategy_config, metadata,
     created_at, last_accessed, updated_at, persisted_at, event_date, tags, source, event_type,
     tier, summary_id, importance, expires_at, is_summary, covers, enrichment) = row
    kind = _str(memory_type)
    record: dict[str, Any] = {
        "id": _str(id_) or "",
        "text": _str(text) or "",
        "session_id": _str(session_id),
        "user_id": _str(user_id),
        "namespace": _str(namespace),
        "memory_hash": _str(memory_hash),
        "pinned": pinned in (b"1", b"true", b"True"),
        "access_count": int(float(access_count or 0)),
        "extraction_strategy": _str(strategy) or ("message" if kind == "message" else "discrete"),
        "extraction_strategy_config": _json(strategy_config),
        "metadata": _json(metadata),
        "topics": _list(topics),
        "entities": _list(entities),
        "extracted_from": _list(extracted_from),
        "persisted_at": from_epoch(persisted_at),
        "event_date": from_epoch(event_date),
        "tags": _list(tags),
        "source": _str(source),
        "event_type": _str(event_type),
        "tier": _str(tier),
        "summary_id": _str(summary_id),
        "importance": float(importance) if importance else None,
        "expires_at": from_epoch(expires_at),
        "is_summary": is_summary in (b"1", b"true", b"True"),
        "covers": _json_list(covers),
        "enrichment": _json(enrichment) if enrichment else None,
    }
    for name, value in (("created_at", created_at), ("last_accessed", last_accessed),
                        ("updated_at", updated_at)):
        if value:  # absent: the model's default (now)
            record[name] = from_epoch(value)
    if extracted in (b"t", b"f"):
        record["discrete_memory_extracted"] = extracted.decode()
    if kind:
        record["memory_type"] = _TYPES.get(kind, kind)  # unknown: validation reports it
    record.update(extra)
    try:
        # Every value above already has its model type: validating them is a quick check,
        # and faster than model_construct (Rust, not a Python loop over the fields).
        return cls.model_validate(record)
    except ValidationError:
        if record["id"] and isinstance(record.get("memory_type", MemoryTypeEnum.message),
                                       MemoryTypeEnum):
            return cls.model_construct(**record)  # stored before a rule tightened: serve it
        raise
