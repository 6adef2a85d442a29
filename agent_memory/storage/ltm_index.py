"""Create, version-check and migrate the long-term RedisVL indexes (the vector index and
the text index beside it, see ``ltm_schema.py``).

The metadata hash (``keys.ltm_meta_key``) records ``schema_version``, ``model_id`` and
``dimensions``. On startup:

- no index: create it and record the metadata;
- an older ``schema_version`` (or an index with no metadata, e.g. built by AMS): re-define
  the index in place, ``FT.DROPINDEX`` *without* ``DD`` then create, so every record hash
  stays and is re-indexed by RediSearch in the background (the vector index only when its
  own definition changed since, ``VECTOR_SCHEMA_VERSION``; the text index always);
- another embedding model or dimension: :class:`~agent_memory.errors.IndexMismatch`, naming
  ``agent-memory reembed``, instead of silently mixing vector spaces;
- a newer ``schema_version``: ``IndexMismatch`` too (an older server must not downgrade it).

The text index holds no vector, so no model: it is created when missing and re-defined
with the vector index. Its metadata is the vector index's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError
from redisvl.exceptions import RedisVLError
from redisvl.index import AsyncSearchIndex

from agent_memory.errors import IndexMismatch, StorageError
from agent_memory.storage.keys import ltm_meta_key
from agent_memory.storage.ltm_schema import (
    SCHEMA_VERSION,
    VECTOR_SCHEMA_VERSION,
    build_schema,
    build_text_schema,
)

log = logging.getLogger(__name__)

REEMBED_HINT = "run `agent-memory reembed` to re-embed every memory with the configured model"


@dataclass(frozen=True)
class IndexMeta:
    """What built the index."""

    schema_version: int
    model_id: str
    dimensions: int


def make_index(redis: Redis, name: str, prefix: str, dimensions: int, *, algorithm: str,
               distance_metric: str) -> AsyncSearchIndex:
    """A RedisVL handle on the long-term index over the shared client (not owned)."""
    schema = build_schema(name, prefix, dimensions, algorithm=algorithm,
                          distance_metric=distance_metric)
    return AsyncSearchIndex(schema, redis_client=redis)


def make_text_index(redis: Redis, name: str, prefix: str) -> AsyncSearchIndex:
    """A RedisVL handle on the text index ``name`` over the shared client (not owned)."""
    return AsyncSearchIndex(build_text_schema(name, prefix), redis_client=redis)


async def read_meta(redis: Redis, index_name: str) -> IndexMeta | None:
    """The recorded metadata, or ``None`` when there is none."""
    raw = await redis.hgetall(ltm_meta_key(index_name))
    if not raw:
        return None
    data = {k.decode(): v.decode() for k, v in raw.items()}
    return IndexMeta(int(data.get("schema_version", 0)), data.get("model_id", ""),
                     int(data.get("dimensions", 0)))


async def write_meta(redis: Redis, index_name: str, model_id: str, dimensions: int) -> None:
    """Record that the index now holds vectors of ``model_id`` at the current schema."""
    await redis.hset(ltm_meta_key(index_name), mapping={
        "schema_version": SCHEMA_VERSION, "model_id": model_id, "dimensions": dimensions,
    })


async def redefine(index: AsyncSearchIndex) -> None:
    """Drop the index definition only (never the documents) and create it again."""
    if await index.exists():
        await index.delete(drop=False)
    await index.create(overwrite=False)


async def partial_indexing(redis: Redis) -> bool | None:
    """Whether RediSearch leaves an index alone on a write that touches none of its fields
    (``PARTIAL_INDEXED_DOCS``; ``None`` when the server does not say)."""
    try:
        reply = await redis.execute_command("FT.CONFIG", "GET", "PARTIAL_INDEXED_DOCS")
    except RedisError:
        return None
    if isinstance(reply, dict):  # redis-py's reply callback
        values = reply
    else:  # [[name, value]] as the server sends it
        values = {pair[0]: pair[1] for pair in reply or () if len(pair) == 2}
    value = values.get(b"PARTIAL_INDEXED_DOCS", values.get("PARTIAL_INDEXED_DOCS"))
    if value is None:
        return None
    return (value.decode() if isinstance(value, bytes) else str(value)).lower() in (
        "true", "1", "yes")


async def ensure_index(index: AsyncSearchIndex, redis: Redis, model_id: str,
                       dimensions: int, *, check_model: bool = True,
                       text: AsyncSearchIndex | None = None) -> IndexMeta:
    """Make the index exist at the current schema for ``model_id``/``dimensions``.

    Args:
        check_model: ``False`` skips the model check (the re-embed command opens the index
            built for the old model on purpose).
        text: The text index beside it, created when missing, re-defined with it.

    Raises:
        IndexMismatch: Another embedding model or dimension built the index, or a newer
            server version did.
    """
    name = index.schema.index.name
    try:
        meta = await read_meta(redis, name)
        exists = await index.exists()
        if meta is not None and check_model and (
            meta.model_id != model_id or meta.dimensions != dimensions
        ):
            raise IndexMismatch(
                f"index {name!r} holds vectors of {meta.model_id!r} ({meta.dimensions} dims) "
                f"but the server is configured for {model_id!r} ({dimensions} dims): "
                f"{REEMBED_HINT}",
                details={"index": name, "index_model": meta.model_id,
                         "index_dimensions": meta.dimensions, "configured_model": model_id,
                         "configured_dimensions": dimensions, "command": "agent-memory reembed"},
            )
        if meta is not None and meta.schema_version > SCHEMA_VERSION:
            raise IndexMismatch(
                f"index {name!r} has schema version {meta.schema_version}, newer than this "
                f"server's {SCHEMA_VERSION}: upgrade the server",
                details={"index": name, "schema_version": meta.schema_version},
            )
        migrating = exists and (meta is None or meta.schema_version < SCHEMA_VERSION)
        if not exists:
            await index.create(overwrite=False)
        elif migrating:
            log.warning("migrating index %s to schema version %s (documents kept)",
                        name, SCHEMA_VERSION)
            if meta is None or meta.schema_version < VECTOR_SCHEMA_VERSION:
                await redefine(index)
        if text is not None:
            if migrating:
                await redefine(text)
            elif not await text.exists():
                await text.create(overwrite=False)
            if await partial_indexing(redis) is False:
                log.warning("RediSearch re-indexes every index on any write: each message's "
                            "session context re-inserts its neighbour's vector; start Redis "
                            "with search-partial-indexed-docs yes (PARTIAL_INDEXED_DOCS 1)")
        recorded = (model_id, dimensions)
        if meta is not None and not check_model:
            recorded = (meta.model_id, meta.dimensions)  # the re-embed command records later
        if meta is None or meta.schema_version != SCHEMA_VERSION:
            await write_meta(redis, name, *recorded)
        return IndexMeta(SCHEMA_VERSION, *recorded)
    except (RedisError, RedisVLError) as exc:
        raise StorageError(f"cannot prepare the long-term index: {exc}") from exc
