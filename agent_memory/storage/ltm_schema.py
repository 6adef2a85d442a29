"""The long-term index schema (AMS field names) and its version.

Bump ``SCHEMA_VERSION`` whenever a field is added or changed: on startup an index built by
an older version is re-defined in place (``FT.DROPINDEX`` without ``DD``, then create), so
the record hashes stay and RediSearch re-indexes them in the background.
"""

from __future__ import annotations

from typing import Any

from redisvl.schema import IndexSchema

SCHEMA_VERSION = 2

VECTOR_FIELD = "vector"
TEXT_FIELD = "text"

TAG_FIELDS = (
    "id_",
    "session_id",
    "user_id",
    "namespace",
    "memory_type",
    "topics",
    "entities",
    "extracted_from",
    "memory_hash",
    "discrete_memory_extracted",
    "pinned",
    "extraction_strategy",
    "source",
)
NUMERIC_FIELDS = (
    "created_at",
    "last_accessed",
    "updated_at",
    "persisted_at",
    "event_date",
    "access_count",
    "importance",
    "expires_at",
)
# Kept in the hash but not searchable: JSON strings (metadata, provenance, strategy config).
UNINDEXED_FIELDS = ("extraction_strategy_config", "metadata", "provenance")

# Tag fields that may be absent (``None`` on the wire) and must be findable as absent.
MISSING_AWARE = ("session_id", "user_id", "namespace")


def schema_dict(name: str, prefix: str, dimensions: int, *, algorithm: str = "HNSW",
                distance_metric: str = "COSINE") -> dict[str, Any]:
    """The RedisVL schema of the long-term index."""
    fields: list[dict[str, Any]] = [{"name": TEXT_FIELD, "type": "text"}]
    for tag in TAG_FIELDS:
        attrs: dict[str, Any] = {"separator": ","}
        if tag in MISSING_AWARE:
            attrs["index_missing"] = True
        fields.append({"name": tag, "type": "tag", "attrs": attrs})
    for num in NUMERIC_FIELDS:
        attrs = {"sortable": True} if num == "created_at" else {}
        fields.append({"name": num, "type": "numeric", "attrs": attrs})
    fields.append({
        "name": VECTOR_FIELD,
        "type": "vector",
        "attrs": {
            "dims": dimensions,
            "algorithm": algorithm.lower(),
            "distance_metric": distance_metric.lower(),
            "datatype": "float32",
        },
    })
    return {
        "index": {"name": name, "prefix": prefix, "key_separator": ":", "storage_type": "hash"},
        "fields": fields,
    }


def build_schema(name: str, prefix: str, dimensions: int, *, algorithm: str = "HNSW",
                 distance_metric: str = "COSINE") -> IndexSchema:
    """The schema as a RedisVL ``IndexSchema``."""
    return IndexSchema.from_dict(
        schema_dict(name, prefix, dimensions, algorithm=algorithm, distance_metric=distance_metric)
    )
