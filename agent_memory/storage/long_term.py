"""Long-term memories in Redis hashes under one RedisVL index: the only code that knows
their keys and index. Every method is one round trip (pipelines, batched queries)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from redis.asyncio import Redis
from redis.commands.search.aggregation import AggregateRequest, Asc, Desc
from redis.exceptions import RedisError
from redisvl.exceptions import RedisVLError
from redisvl.index import AsyncSearchIndex
from redisvl.query import FilterQuery, TextQuery, VectorRangeQuery
from redisvl.query.filter import FilterExpression

from agent_memory.clock import Clock
from agent_memory.models.records import MemoryRecord
from agent_memory.settings import Settings
from agent_memory.storage import ltm_index
from agent_memory.storage._ltm_codec import EXPIRES_AT, FIELDS, decode, encode
from agent_memory.storage._ltm_expiry import ExpiryFloor
from agent_memory.storage._ltm_scans import ExhaustiveScans, _s, store_guard
from agent_memory.storage.filters import not_expired, rendered, tag_in
from agent_memory.storage.keys import ltm_expiry_floor_key, ltm_record_key
from agent_memory.storage.ltm_schema import RANK_TIMES, TEXT_FIELD, VECTOR_FIELD, text_index_name
from agent_memory.storage._ltm_commands import TOUCH, hmget
from agent_memory.storage.mux import Script, mux_of
from agent_memory.storage.raw_search import (
    RawResult,
    SearchArgs,
    as_number,
    parse_replies,
    search_batch,
    search_command,
    search_commands,
    text,
)

_ID, _NAMESPACE, _USER, _CREATED, _PERSISTED = (
    FIELDS.index(name) for name in ("id_", "namespace", "user_id", "created_at", "persisted_at"))
_HASH_LOOKUP_CHUNK = 500


# Searches return only what ranking needs; the page's full records are read afterwards
# (returning every field of 100 candidates costs several times the search itself). The id
# is the key's suffix: returning ``id_`` too cost RediSearch ~10% of a 50-candidate KNN.
# These are SORTABLE (ltm_schema.RANK_TIMES): a KNN returns them without opening a hash.
RANK_FIELDS = list(RANK_TIMES)


@dataclass
class Lookup:
    """What :meth:`LongTermStore.lookup` found."""

    scopes: list[tuple[str | None, ...] | None]  # per id: namespace, user, created, persisted
    by_hash: dict[str, str]  # memory_hash -> the oldest stored id with it
    nearest: list[str | None]  # per near query: the nearest id within its threshold


class Hit(NamedTuple):
    """One search candidate: its id, the raw score of the query that found it, and the
    timestamps recency ranking needs (epoch seconds). (A named tuple: fifty are built per
    search, ~4x cheaper than a dataclass.)"""

    memory_id: str
    value: float  # vector distance (KNN/range) or text score (BM25)
    created_at: float
    last_accessed: float


def _hset(key: str, fields: dict[str, Any]) -> list[object]:
    """The HSET command writing ``fields`` of ``key``."""
    command: list[object] = ["HSET", key]
    for pair in fields.items():
        command += pair
    return command


def _settled_doc_count(info: list[Any]) -> int | None:
    """``num_docs`` of an FT.INFO reply (RESP2: name, value, ...), or ``None`` while the
    index is still being built or when some records failed to be indexed."""
    values = dict(zip(info[::2], info[1::2], strict=False))
    try:
        if int(values.get(b"indexing", 1)) or int(values.get(b"hash_indexing_failures", 1)):
            return None
        return int(values[b"num_docs"])
    except (KeyError, TypeError, ValueError):
        return None


class LongTermStore(ExhaustiveScans):
    """Reads and writes long-term memories.

    Args:
        redis: The process's client (bytes responses).
        settings: Index name, prefix, vector algorithm and metric.
        dimensions: Vector size of the configured embedder.
        clock: "Now" for expiry (a fresh wall clock when not given). Expiry is enforced
            here: :meth:`live` filters every search, :meth:`get_raw` every read by id.
    """

    def __init__(self, redis: Redis, settings: Settings, dimensions: int,
                 clock: Clock | None = None) -> None:
        self.redis = redis
        self.clock = clock or Clock()
        self.prefix = settings.redisvl_index_prefix
        self.dimensions = dimensions
        self.index: AsyncSearchIndex = ltm_index.make_index(
            redis, settings.redisvl_index_name, self.prefix, dimensions,
            algorithm=settings.redisvl_indexing_algorithm,
            distance_metric=settings.redisvl_distance_metric,
        )
        # Full-text searches go to the text index (session context; see ltm_schema.py).
        self.text_index: AsyncSearchIndex = ltm_index.make_text_index(
            redis, text_index_name(settings.redisvl_index_name), self.prefix)
        self.mux = mux_of(redis)
        self._touch = self.mux.script(TOUCH)
        self.floor_key = ltm_expiry_floor_key(self.index_name)
        self.expiry = ExpiryFloor(self.mux, self.floor_key, self.index)

    async def search_raw(self, queries: Sequence[SearchArgs]) -> list[RawResult]:
        """FT.SEARCH ``queries`` on this index in one round trip (see raw_search.py)."""
        return await search_batch(self.mux, self.index_name, queries)

    @property
    def index_name(self) -> str:
        """The RediSearch index name."""
        return self.index.schema.index.name

    @property
    def text_index_name(self) -> str:
        """The text index's name (same records, no vector, with the session context)."""
        return self.text_index.schema.index.name

    def key(self, memory_id: str) -> str:
        """The hash key of one memory."""
        return ltm_record_key(self.prefix, memory_id)

    async def ensure_index(self, model_id: str, *, check_model: bool = True) -> None:
        """Create or migrate the index; see :func:`ltm_index.ensure_index`."""
        await ltm_index.ensure_index(self.index, self.redis, model_id, self.dimensions,
                                     check_model=check_model, text=self.text_index)

    async def recreate_index(self) -> None:
        """Re-define the index for this store's dimensions, keeping every record hash (the
        first step of re-embedding; records are re-indexed as their vectors are rewritten)."""
        with store_guard("recreate index"):
            await ltm_index.redefine(self.index)

    async def record_model(self, model_id: str) -> None:
        """Record that every vector now comes from ``model_id`` at this store's dimensions
        (the last step of re-embedding; afterwards the server starts with that model)."""
        with store_guard("record model"):
            await ltm_index.write_meta(self.redis, self.index_name, model_id, self.dimensions)

    async def index_ready(self) -> bool:
        """True when both indexes exist."""
        try:
            return bool(await self.index.exists()) and bool(await self.text_index.exists())
        except (RedisError, RedisVLError):
            return False

    # -- writes -------------------------------------------------------------------------

    async def write(self, records: Sequence[MemoryRecord],
                    vectors: npt.NDArray[np.float32] | Sequence[bytes | None],
                    replacing: Sequence[bool] | None = None, *,
                    extra_fields: Sequence[Mapping[str, str]] | None = None,
                    then: Sequence[Sequence[object]] = (), scripts: Sequence[Script] = (),
                    once: Sequence[Sequence[object]] = ()) -> None:
        """Store records in one pipeline.

        Args:
            replacing: Per record, whether a hash with its id may exist (``None``: assume
                so). Those are deleted first, so an overwrite keeps no stale field.
            extra_fields: Per record, fields written in the same HSET beyond the record's
                own (session context: one index update instead of two).
            then: Commands sent after the writes in the same pipeline (``scripts``: the
                scripts they run).
            once: Commands not safe to run twice (appends), sent after the writes: in the
                same pipeline when it runs no script (a ``NOSCRIPT`` re-sends the whole
                pipeline), else in a second one once the writes are in.
        """
        if not records:
            return
        flags = replacing if replacing is not None else [True] * len(records)
        extras = extra_fields if extra_fields is not None else [{}] * len(records)
        commands: list[Sequence[object]] = []
        for record, vector, replace, extra in zip(records, vectors, flags, extras, strict=True):
            key = self.key(record.id)
            if replace:
                commands.append(["DEL", key])
            commands.append(_hset(key, {**encode(record, vector), **extra}))
        commands += then
        expiries = [r.expires_at.timestamp() for r in records if r.expires_at is not None]
        if expiries:  # before the 2xx: a search right after must know to filter
            commands.append(self.expiry.lower.command([self.floor_key], [repr(min(expiries))]))
        used = [*scripts, *([self.expiry.lower] if expiries else ())]
        if not used:
            commands += once
        with store_guard("write"):
            await self.mux.batch(commands, used)
            if used and once:
                await self.mux.batch(list(once))
        if expiries:
            self.expiry.lowered(min(expiries))

    async def run_once(self, commands: Sequence[Sequence[object]]) -> None:
        """Send ``commands`` (not safe to run twice) in one round trip."""
        with store_guard("write"):
            await self.mux.batch(list(commands))

    async def insert_counted(self, record: MemoryRecord, vector: npt.NDArray[np.float32],
                             counter_key: str) -> str:
        """Write ``record`` under the next free integer id of ``counter_key`` (an id another
        door chose is skipped, never overwritten); returns that id."""
        with store_guard("write"):
            return await self.expiry.insert(self.key(""), encode(record, vector),
                                            record.expires_at, counter_key)

    async def write_vectors(self, ids: Sequence[str], vectors: npt.NDArray[np.float32]) -> None:
        """Replace the vectors of existing memories (re-embedding); missing ids are skipped."""
        with store_guard("write vectors"):
            await self.mux.batch([
                ("HSET", self.key(memory_id), VECTOR_FIELD,
                 vector.astype(np.float32, copy=False).tobytes())
                for memory_id, vector in zip(ids, vectors, strict=True)])

    async def set_fields(self, memory_id: str, fields: dict[str, object]) -> None:
        """Write some fields of one memory."""
        with store_guard("update"):
            await self.mux.execute(*_hset(self.key(memory_id), fields))

    async def delete(self, ids: Sequence[str]) -> int:
        """Delete memories; returns how many existed."""
        if not ids:
            return 0
        with store_guard("delete"):
            return int(await self.mux.execute("DEL", *[self.key(i) for i in ids]))

    async def touch(self, ids: Sequence[str], interval_seconds: float) -> int:
        """Throttled access update; returns how many memories were updated."""
        results = await self.touch_each(ids, self.clock.now(), interval_seconds)
        return sum(r == 2 for r in results)

    async def touch_each(self, ids: Sequence[str], now: float,
                         interval_seconds: float = 0.0) -> list[int]:
        """Note an access to each record (see ``_ltm_commands.TOUCH``): per id, 0 when
        gone, 1 when left as it was, 2 when written."""
        if not ids:
            return []
        commands = [self._touch.command([self.key(memory_id)], [repr(now), interval_seconds])
                    for memory_id in ids]
        with store_guard("touch"):
            results = await self.mux.batch(commands, [self._touch])
        return [int(r) for r in results]

    # -- point reads --------------------------------------------------------------------

    async def get_many(self, ids: Sequence[str], *,
                       live: bool = True) -> list[MemoryRecord | None]:
        """Records by id, in order (``None`` where missing, or expired unless ``live`` is
        false)."""
        return [decode(row) if row else None for row in await self.get_raw(ids, live=live)]

    async def get_raw(self, ids: Sequence[str], *,
                      live: bool = True) -> list[list[bytes | None] | None]:
        """Per id, in order, the values of ``FIELDS`` (``None`` where missing, or expired
        unless ``live`` is false): one script call per 500 ids. The vector stays in Redis:
        it is most of a record's bytes."""
        rows, now = (await self._lookup(ids, ()))[0], self.clock.now()
        return [None if live and row is not None and row[EXPIRES_AT]
                and as_number(row[EXPIRES_AT]) <= now else row for row in rows]

    async def live(self, where: FilterExpression | None) -> FilterExpression | None:
        """``where`` restricted to memories not expired now (every search goes through
        this), once the earliest stored expiry has passed (see ``_ltm_expiry.py``)."""
        now = self.clock.now()
        with store_guard("expiry floor"):
            if not await self.expiry.passed(now):
                return where
        clause = not_expired(now)
        return clause if where is None else where & clause

    async def refresh_expiry_floor(self) -> float | None:
        """Recompute the earliest stored expiry after a purge (see ``_ltm_expiry.py``)."""
        with store_guard("expiry floor"):
            return await self.expiry.refresh()

    async def _lookup(self, ids: Sequence[str], hashes: Sequence[str],
                      near: Sequence[SearchArgs] = ()
                      ) -> tuple[list[list[bytes | None] | None], dict[str, str], list[str | None]]:
        """Record rows by id, ``{memory_hash: id}`` of stored memories with any of
        ``hashes`` (oldest id kept when several share one), and the id each ``near`` range
        query found (see :meth:`near_query`), in one round trip."""
        unique = sorted({h for h in hashes if h})
        queries = []
        for n in range(0, len(unique), _HASH_LOOKUP_CHUNK):
            chunk = unique[n:n + _HASH_LOOKUP_CHUNK]
            q = FilterQuery(tag_in("memory_hash", chunk), return_fields=["id_", "memory_hash"],
                            num_results=len(chunk) * 4)
            queries.append((q.query, q.params))
        queries += near
        if not ids and not queries:
            return [], {}, []
        commands: list[Any] = [hmget(self.key(i)) for i in ids]
        commands += search_commands(self.index_name, queries)
        with store_guard("read"):
            replies = await self.mux.batch(commands)
        rows = [row if row[0] is not None else None for row in replies[:len(ids)]]
        results = parse_replies(replies[len(ids):], queries)
        split = len(results) - len(near)
        found: dict[str, str] = {}
        for result in results[:split]:
            for doc in result.docs:
                h, memory_id = text(doc, b"memory_hash"), text(doc, b"id_")
                if h not in found or memory_id < found[h]:
                    found[h] = memory_id
        nearest = [text(r.docs[0], b"id_") if r.docs else None for r in results[split:]]
        return rows, found, nearest

    async def vector_of(self, memory_id: str) -> bytes | None:
        """The stored vector bytes of one memory."""
        with store_guard("read"):
            return await self.mux.execute("HGET", self.key(memory_id), VECTOR_FIELD)

    async def scope_of(self, ids: Sequence[str]) -> list[tuple[str | None, ...] | None]:
        """``(namespace, user_id, created_at, persisted_at)`` per id (``None`` if missing),
        read from the hashes themselves (exact timestamps; no index involved)."""
        return (await self.lookup(ids, ())).scopes

    async def lookup(self, ids: Sequence[str], hashes: Sequence[str],
                     near: Sequence[SearchArgs] = ()) -> Lookup:
        """What a create checks before writing, in one round trip: :meth:`scope_of` of
        ``ids``, ``{memory_hash: id}`` of stored memories with any of ``hashes``, and the
        nearest id each :meth:`near_query` found."""
        rows, by_hash, nearest = await self._lookup([i for i in ids if i], hashes, near)
        found = {}
        for row in rows:
            if row is not None:
                found[_s(row[_ID])] = (_s(row[_NAMESPACE]) or None, _s(row[_USER]) or None,
                                       _s(row[_CREATED]) or None, _s(row[_PERSISTED]) or None)
        return Lookup([found.get(i) for i in ids], by_hash, nearest)

    # -- searches -----------------------------------------------------------------------

    def _hits(self, reply: list[Any], with_scores: bool, score_field: bytes = b"") -> list[Hit]:
        """The candidates of an FT.SEARCH reply over RANK_FIELDS, read straight from the
        RESP2 reply (a 50-candidate KNN is read on every search and prompt): the id from
        the key, the score from WITHSCORES when the query asked for it, else from
        ``score_field``."""
        cut = len(self.prefix) + 1  # keys are "<prefix>:<id>" (keys.ltm_record_key)
        step = 3 if with_scores else 2
        new = tuple.__new__
        hits = []
        for n in range(1, len(reply) - step + 1, step):
            fields = reply[n + step - 1] or []
            if len(fields) == 6 and fields[0] == score_field \
                    and fields[2] == b"created_at" and fields[4] == b"last_accessed":
                # The usual KNN row (RediSearch puts the sort key first): no dict to build.
                score, created, accessed = fields[1], fields[3], fields[5]
            else:
                values = {fields[i]: fields[i + 1] for i in range(0, len(fields) - 1, 2)}
                score = reply[n + 1] if step == 3 else values.get(score_field)
                created, accessed = values.get(b"created_at"), values.get(b"last_accessed")
            memory_id = reply[n][cut:].decode("utf-8", "replace")
            try:  # tuple.__new__: NamedTuple's own __new__ is Python code, twice the cost
                hit = new(Hit, (memory_id, float(score or 0), float(created or 0),
                                float(accessed or 0)))
            except ValueError:  # a stored value that is not a number counts as 0
                hit = Hit(memory_id, as_number(score), as_number(created), as_number(accessed))
            hits.append(hit)
        return hits

    async def knn(self, vector: npt.NDArray[np.float32], where: FilterExpression | None,
                  k: int) -> tuple[list[Hit], int]:
        """The ``k`` nearest memories matching ``where``, and how many match ``where``.

        Without a filter "how many" is every memory: the text index's document count
        (FT.INFO, ~0.2 ms at 1M memories, where counting them with a wildcard search walks
        all of them: ~58 ms). Both indexes hold every record of the prefix, and only a
        stored vector of the wrong size could be in one and not the other (the store
        writes the index's dimensions only). While the text index is still being built,
        or when it reports records it could not index, the wildcard count is used.
        """
        knn = self.knn_command(vector, where, k)
        with store_guard("vector search"):
            if where is None:
                found, info = await self.mux.batch([knn, ("FT.INFO", self.text_index_name)])
                count = _settled_doc_count(info)
                if count is None:
                    count = await self.count(None)
                return self._hits(found, False, b"vector_distance"), count
            found, counted = await self.mux.batch([knn, self._count_command(where)])
        return self._hits(found, False, b"vector_distance"), int(counted[0])

    def knn_command(self, vector: npt.NDArray[np.float32], where: FilterExpression | None,
                    k: int) -> list[Any]:
        """The FT.SEARCH RedisVL's ``VectorQuery`` sends (RANK_FIELDS returned, nearest
        first), built here: RedisVL's builder (and its ``CountQuery``) cost ~20 µs per
        search. tests/unit/test_record_read.py checks both render the same command."""
        scope = rendered(where)
        knn = f"[KNN {k} @{VECTOR_FIELD} $vector AS vector_distance]"
        query = f"*=>{knn}" if scope == "*" else f"({scope})=>{knn}"
        return ["FT.SEARCH", self.index_name, query, "RETURN", 3, *RANK_FIELDS,
                "vector_distance", "SORTBY", "vector_distance", "ASC", "DIALECT", 2,
                "LIMIT", 0, k, "PARAMS", 2, "vector", vector.astype(np.float32).tobytes()]

    async def within(self, vector: npt.NDArray[np.float32], where: FilterExpression | None,
                     threshold: float, k: int) -> tuple[list[Hit], int]:
        """Memories within ``threshold`` cosine distance (nearest ``k``) and how many are."""
        q = VectorRangeQuery(vector.astype(np.float32).tobytes(), VECTOR_FIELD,
                             return_fields=RANK_FIELDS, filter_expression=where,
                             distance_threshold=threshold, num_results=k,
                             sort_by="vector_distance")
        with store_guard("range search"):
            found = await self.mux.execute(*search_command(self.index_name, q.query, q.params))
        return self._hits(found, q.query._with_scores, b"vector_distance"), int(found[0])

    @staticmethod
    def near_query(vector: npt.NDArray[np.float32], where: FilterExpression,
                   threshold: float) -> SearchArgs:
        """The range query finding the nearest stored memory within ``threshold`` of
        ``vector`` in ``where`` (for :meth:`lookup`)."""
        q = VectorRangeQuery(vector.astype(np.float32).tobytes(), VECTOR_FIELD,
                             return_fields=["id_"], filter_expression=where,
                             distance_threshold=threshold, num_results=1,
                             sort_by="vector_distance")
        return q.query, q.params

    async def text(self, words: str, where: FilterExpression | None, k: int,
                   scorer: str) -> tuple[list[Hit], int]:
        """BM25 full-text search for ``words`` (already cleaned: plain words, no stopwords)
        and how many memories match the words and ``where``."""
        q = TextQuery(words, TEXT_FIELD, text_scorer=scorer, filter_expression=where,
                      return_fields=RANK_FIELDS, num_results=k, stopwords=None)
        with store_guard("text search"):
            found = await self.mux.execute(*search_command(self.index_name, q.query, q.params))
        return self._hits(found, q.query._with_scores), int(found[0])

    async def indexed_count(self) -> int | None:
        """How many memories the text index holds (FT.INFO, cheap at any size), or
        ``None`` while it is being built or reports records it could not index."""
        with store_guard("index info"):
            return _settled_doc_count(await self.mux.execute("FT.INFO", self.text_index_name))

    async def count(self, where: FilterExpression | None) -> int:
        """How many memories match ``where``."""
        with store_guard("count"):
            return int((await self.mux.execute(*self._count_command(where)))[0])

    def _count_command(self, where: FilterExpression | None) -> tuple[object, ...]:
        """The FT.SEARCH RedisVL's ``CountQuery`` sends, built here (see knn_command)."""
        return ("FT.SEARCH", self.index_name, rendered(where), "NOCONTENT", "DIALECT", 2,
                "LIMIT", 0, 0)

    async def listing(self, where: FilterExpression | None, offset: int,
                      limit: int) -> tuple[list[MemoryRecord], int]:
        """A page of memories matching ``where``, newest first (ties by id), and the total."""
        req = (AggregateRequest(rendered(where)).load("@id_", "@created_at")
               .sort_by(Desc("@created_at"), Asc("@id_"), max=offset + limit)
               .limit(offset, limit).dialect(2))
        with store_guard("listing"):
            agg = await self.index.aggregate(req)
            total = await self.count(where)
        ids = []
        for row in agg.rows:
            fields = {_s(k): _s(v) for k, v in zip(row[::2], row[1::2], strict=False)}
            if fields.get("id_"):
                ids.append(fields["id_"])
        records = [r for r in await self.get_many(ids) if r is not None]
        return records, total


async def recorded_model(redis: Redis, index_name: str) -> str | None:
    """The embedding model id the index ``index_name`` records (``None``: no index yet)."""
    with store_guard("read index metadata"):
        meta = await ltm_index.read_meta(redis, index_name)
    return meta.model_id if meta is not None and meta.model_id else None
