"""The long-term index schemas (AMS field names) and their version.

Two RediSearch indexes cover the same record hashes (one key prefix):

- the **vector index** (``REDISVL_INDEX_NAME``, AMS's ``memory_records``): every field but
  the session-context ones, with the vector (KNN, filters, listing);
- the **text index** (:func:`text_index_name`): every field but the vector, with the
  session-context fields (full-text candidates and word counts, ``storage/lexical.py``).

Why two: a memory's ``context_next`` is written when the *next* message of its session
arrives, and RediSearch re-indexes a hash in every index whose schema names a written
field. In one index that re-index deleted and re-inserted the unchanged vector in the HNSW
graph (~0.5 ms of Redis CPU at 2,500 memories, ~1.2 ms at 20,000: more than the new
memory's own insert). Split, it re-indexes the text index only (~0.05 ms), provided
RediSearch skips indexes whose fields a write does not touch: ``PARTIAL_INDEXED_DOCS 1``
(module argument; ``search-partial-indexed-docs yes`` on Redis 8's bundled search), which
the embedded Redis sets. Without it both indexes re-index as before, a little dearer.

Bump ``SCHEMA_VERSION`` whenever a field is added or changed: on startup an index built by
an older version is re-defined in place (``FT.DROPINDEX`` without ``DD``, then create), so
the record hashes stay and RediSearch re-indexes them in the background. The vector index
is re-defined only when it changed too (``VECTOR_SCHEMA_VERSION``): rebuilding its HNSW
graph is the slow part of a migration (minutes per million memories).

The text index keeps its text fields SORTABLE UNF: a copy of each field's exact value in
the index, so the candidate search's RETURN of the texts (``storage/lexical.py``) is
answered from the index instead of opening each candidate's hash. At 1M memories that
saved 0.5-0.9 ms of a 3-7 ms tenant candidate search (150 candidates), for ~160 bytes of
index memory per 85-character memory (docs/benchmarks.md, session 12;
``scripts/bench_text_index.py``).
"""

from __future__ import annotations

from typing import Any

from redisvl.schema import IndexSchema

SCHEMA_VERSION = 7  # 3: context_prev/context_next (neighbouring messages); created_at not SORTABLE
# 4: tags, event_type, tier, is_summary, summary_id, metadata_kv (memories door, issue 14)
# 5: the session-context fields move to the text index (module docs)
# 6: created_at and last_accessed SORTABLE again (RANK_TIMES)
# 7: the text index's text fields SORTABLE UNF (module docs); the vector index unchanged
VECTOR_SCHEMA_VERSION = 6  # the last version that changed the vector index's definition

VECTOR_FIELD = "vector"
TEXT_FIELD = "text"
# Full-text only, never returned as memory fields: the text of the previous and the next
# message of the same session, so a reply is findable by the question it answers
# (services/session_context.py writes them, services/ranking.py weighs them).
CONTEXT_FIELDS = ("context_prev", "context_next")

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
    # memories door (issue 14): caller tags, event type, lifecycle tier, summary rows, the
    # summary that covers a row, and digests of scalar metadata pairs (equality filters).
    "tags",
    "event_type",
    "tier",
    "is_summary",
    "summary_id",
    "metadata_kv",
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
# What recency needs of every candidate (SORTABLE, see _scalar_fields).
RANK_TIMES = ("created_at", "last_accessed")
# Kept in the hash but not searchable: JSON strings (metadata, provenance, strategy config).
UNINDEXED_FIELDS = ("extraction_strategy_config", "metadata", "provenance", "covers",
                    "enrichment")

# Tag fields that may be absent (``None`` on the wire) and must be findable as absent.
MISSING_AWARE = ("session_id", "user_id", "namespace", "summary_id")


def text_index_name(name: str) -> str:
    """The name of the text index beside the vector index ``name``."""
    return f"{name}_text"


def _scalar_fields(*, context: bool) -> list[dict[str, Any]]:
    """The text, tag and numeric fields (with the session-context ones when ``context``)."""
    fields: list[dict[str, Any]] = [{"name": TEXT_FIELD, "type": "text"}]
    if context:  # the text index: its texts returned from the index (module docs)
        fields.extend({"name": name, "type": "text"} for name in CONTEXT_FIELDS)
        for field in fields:
            field["attrs"] = {"sortable": True, "unf": True}
    for tag in TAG_FIELDS:
        attrs: dict[str, Any] = {"separator": ","}
        if tag in MISSING_AWARE:
            attrs["index_missing"] = True
        fields.append({"name": tag, "type": "tag", "attrs": attrs})
    for num in NUMERIC_FIELDS:
        # The times ranking reads (RANK_TIMES) are SORTABLE: a search returning only them
        # and the vector distance is answered from the index, without opening each
        # candidate's hash (a 50-memory KNN cost Redis ~130 µs more for that). RediSearch
        # keeps them rounded to 12 significant digits (10 ms for epoch seconds): recency
        # re-ranks on these; the times a response shows are read from the hash.
        attrs = {"sortable": True} if num in RANK_TIMES else {}
        fields.append({"name": num, "type": "numeric", **({"attrs": attrs} if attrs else {})})
    return fields


def _definition(name: str, prefix: str, fields: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "index": {"name": name, "prefix": prefix, "key_separator": ":", "storage_type": "hash"},
        "fields": fields,
    }


def text_schema_dict(name: str, prefix: str) -> dict[str, Any]:
    """The RedisVL schema of the text index (``name`` is its own name)."""
    return _definition(name, prefix, _scalar_fields(context=True))


def build_text_schema(name: str, prefix: str) -> IndexSchema:
    """:func:`text_schema_dict` as a RedisVL ``IndexSchema``."""
    return IndexSchema.from_dict(text_schema_dict(name, prefix))


def schema_dict(name: str, prefix: str, dimensions: int, *, algorithm: str = "HNSW",
                distance_metric: str = "COSINE") -> dict[str, Any]:
    """The RedisVL schema of the vector index."""
    fields = _scalar_fields(context=False)
    fields.append({
        "name": VECTOR_FIELD,
        "type": "vector",
        "attrs": {
            "dims": dimensions,
            "algorithm": algorithm.lower(),
            "distance_metric": distance_metric.lower(),
            "datatype": "float32",
            # Insert cost dominates create throughput; 64 keeps recall near exact at the
            # sizes we serve (ef_runtime is raised to K by every KNN anyway).
            **({"m": 16, "ef_construction": 64} if algorithm.lower() == "hnsw" else {}),
        },
    })
    return _definition(name, prefix, fields)


def build_schema(name: str, prefix: str, dimensions: int, *, algorithm: str = "HNSW",
                 distance_metric: str = "COSINE") -> IndexSchema:
    """The schema as a RedisVL ``IndexSchema``."""
    return IndexSchema.from_dict(
        schema_dict(name, prefix, dimensions, algorithm=algorithm, distance_metric=distance_metric)
    )
