"""Encode memory records as index hashes and decode them back (AMS's hash layout).

Differences from AMS, all read-compatible with hashes AMS wrote: a ``None``
namespace/user/session is left out of the hash (the index marks it missing, so "no
namespace" can be queried) instead of being written as ``""``; ``""`` still decodes as
``None``.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ValidationError, create_model

from agent_memory.models._types import from_epoch, utcnow
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
    the values of :data:`FIELDS`, in that order, as ``HMGET`` returns them.

    Every value is decoded here straight to its model type, in the model's field order,
    and the record is built from them without a second pass: validating values that
    already have their types changed none of them, and a record that a rule added later
    would refuse was served as stored anyway. Only the records validation rejects outright
    (no id, an unknown memory type) and classes with rules of their own go through
    :func:`decode_validated`. Search pages, recalls and reads decode every hit: about
    5 µs a record this way, 12 µs through validation.
    """
    (id_, text, session_id, user_id, namespace, memory_type, topics, entities, extracted_from,
     memory_hash, extracted, pinned, access_count, strategy, strategy_config, metadata,
     created_at, last_accessed, updated_at, persisted_at, event_date, tags, source, event_type,
     tier, summary_id, importance, expires_at, is_summary, covers, enrichment) = row
    kind = memory_type.decode("utf-8", "replace") if memory_type else None
    record_id = id_.decode("utf-8", "replace") if id_ else None
    layout = _layout(cls)
    if (not record_id or layout is None or (kind is not None and kind not in _TYPES)
            or (extra and not extra.keys() <= layout[2])):
        return decode_validated(row, cls, **extra)
    # Absent times take the model's default (now), as validation gave them.
    now = None if last_accessed and created_at and updated_at else utcnow()
    values: dict[str, Any] = {
        "text": text.decode("utf-8", "replace") if text else "",
        "session_id": session_id.decode("utf-8", "replace") if session_id else None,
        "user_id": user_id.decode("utf-8", "replace") if user_id else None,
        "namespace": namespace.decode("utf-8", "replace") if namespace else None,
        "last_accessed": _time(last_accessed) if last_accessed else now,
        "created_at": _time(created_at) if created_at else now,
        "updated_at": _time(updated_at) if updated_at else now,
        "pinned": pinned in _TRUE,
        "access_count": int(float(access_count or 0)),
        "topics": _list(topics) if topics else None,
        "entities": _list(entities) if entities else None,
        "memory_hash": memory_hash.decode("utf-8", "replace") if memory_hash else None,
        "discrete_memory_extracted": "t" if extracted == b"t" else "f",
        "memory_type": _TYPES[kind] if kind else MemoryTypeEnum.message,
        "persisted_at": _time(persisted_at) if persisted_at else None,
        "extracted_from": _list(extracted_from) if extracted_from else None,
        "event_date": _time(event_date) if event_date else None,
        "extraction_strategy": (strategy.decode("utf-8", "replace") if strategy else None)
        or ("message" if kind == "message" else "discrete"),
        "extraction_strategy_config": _json(strategy_config),
        "metadata": {} if not metadata or metadata == b"{}" else _json(metadata),
        "id": record_id,
        "tags": _list(tags) if tags else None,
        "source": source.decode("utf-8", "replace") if source else None,
        "event_type": event_type.decode("utf-8", "replace") if event_type else None,
        "tier": tier.decode("utf-8", "replace") if tier else None,
        "importance": float(importance) if importance else None,
        "expires_at": _time(expires_at) if expires_at else None,
        "is_summary": is_summary in _TRUE,
        "covers": _json_list(covers),
        "summary_id": summary_id.decode("utf-8", "replace") if summary_id else None,
        "enrichment": _json(enrichment) if enrichment else None,
    }
    fields_set = set(_ALWAYS_SET)
    if last_accessed:
        fields_set.add("last_accessed")
    if created_at:
        fields_set.add("created_at")
    if updated_at:
        fields_set.add("updated_at")
    if extracted in (b"t", b"f"):
        fields_set.add("discrete_memory_extracted")
    if kind:
        fields_set.add("memory_type")
    order, extras_model, _ = layout
    if extras_model is not None:  # a subclass's own fields (a hit's dist, score): validated
        try:
            own = extras_model.model_validate(extra)
        except ValidationError:
            return decode_validated(row, cls, **extra)
        values.update(own.__dict__)
        fields_set |= own.model_fields_set
        if order is not None:
            values = {name: values[name] for name in order}
    record = cls.__new__(cls)
    _set(record, "__dict__", values)
    _set(record, "__pydantic_fields_set__", fields_set)
    _set(record, "__pydantic_extra__", None)
    _set(record, "__pydantic_private__", None)
    return record


_TRUE = (b"1", b"true", b"True")
_set = object.__setattr__
# The fields a decoded record always names (the old dict's keys, for ``model_fields_set``).
_ALWAYS_SET = frozenset(MemoryRecord.model_fields) - {
    "last_accessed", "created_at", "updated_at", "discrete_memory_extracted", "memory_type"}


@functools.lru_cache(maxsize=None)
def _layout(cls: type[MemoryRecord]) -> tuple[tuple[str, ...] | None, type[BaseModel] | None,
                                              frozenset[str]] | None:
    """How :func:`decode` builds a ``cls`` directly: its field order when it differs from
    the values' (``None``: the same), a model of the fields it adds to
    :class:`MemoryRecord` (``None``: none) and their names. ``None`` when it cannot: the
    class changes a field, or has validators or a post-init of its own
    (:func:`decode_validated` then)."""
    base = MemoryRecord
    if cls is base:
        return None, None, frozenset()
    decorators, base_decorators = cls.__pydantic_decorators__, base.__pydantic_decorators__
    if (cls.__pydantic_post_init__ is not None or cls.model_config != base.model_config
            or set(decorators.field_validators) != set(base_decorators.field_validators)
            or decorators.model_validators or decorators.field_serializers
            or decorators.model_serializers or cls.__private_attributes__
            or decorators.computed_fields
            or any(repr(cls.model_fields[n]) != repr(f) for n, f in base.model_fields.items())):
        return None
    own = {n: (f.annotation, f) for n, f in cls.model_fields.items() if n not in base.model_fields}
    extras_model = create_model(f"_{cls.__name__}Own", **own) if own else None  # type: ignore[call-overload]
    order = tuple(cls.model_fields)
    return (None if order == (*base.model_fields, *own) else order), extras_model, frozenset(own)


def _time(value: bytes) -> datetime:
    """A stored epoch as a UTC datetime, remembered: the same hits come back search after
    search, and a datetime is immutable, so records can share it."""
    found = _TIME_CACHE.get(value)
    if found is None:
        found = datetime.fromtimestamp(float(value), UTC)
        if len(_TIME_CACHE) >= _TIME_CACHE_SIZE:
            _TIME_CACHE.clear()
        _TIME_CACHE[value] = found
    return found


_TIME_CACHE: dict[bytes, datetime] = {}
_TIME_CACHE_SIZE = 100_000


def decode_validated(row: Sequence[bytes | None], cls: type[R] = MemoryRecord,  # type: ignore[assignment]
                     **extra: Any) -> R:
    """:func:`decode` through pydantic validation: the same record where both apply; the
    path of records validation refuses (no id, an unknown memory type: an error)."""
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
