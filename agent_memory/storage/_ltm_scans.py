"""Exhaustive passes over the long-term store (forgetting, compaction, erase, re-embedding):
aggregate cursors and key scans, apart from the point reads and searches of the request path."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence

from redis.asyncio import Redis
from redis.commands.search.aggregation import AggregateRequest
from redis.exceptions import RedisError
from redisvl.exceptions import RedisVLError
from redisvl.index import AsyncSearchIndex
from redisvl.query.filter import FilterExpression

from agent_memory.errors import StorageError
from agent_memory.models.records import MemoryRecord
from agent_memory.storage._ltm_codec import decode
from agent_memory.storage.filters import rendered
from agent_memory.storage.mux import Mux


@contextlib.contextmanager
def store_guard(action: str) -> Iterator[None]:
    """Turn Redis and RedisVL failures of ``action`` into :class:`StorageError` (503)."""
    try:
        yield
    except (RedisError, RedisVLError) as exc:
        raise StorageError(f"long-term store: {action} failed: {exc}") from exc


def _s(value: object) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


class ExhaustiveScans:
    """Bulk iteration for :class:`~agent_memory.storage.long_term.LongTermStore`, which
    provides the index, the clients, the key prefix and ``get_raw``."""

    index: AsyncSearchIndex
    redis: Redis
    mux: Mux
    prefix: str

    get_raw: Callable[..., Awaitable[list[list[bytes | None] | None]]]

    async def iter_ids(self, where: FilterExpression | None,
                       batch: int) -> AsyncIterator[list[str]]:
        """Every id matching ``where``, ``batch`` at a time (an aggregate cursor: no 10k cap)."""
        async for rows in self.iter_fields(where, ("id_",), batch):
            ids = [row[0] for row in rows if row[0]]
            if ids:
                yield ids  # type: ignore[misc]

    async def iter_fields(self, where: FilterExpression | None, fields: Sequence[str],
                          batch: int) -> AsyncIterator[list[tuple[str | None, ...]]]:
        """Tuples of ``fields`` for every memory matching ``where``, ``batch`` at a time."""
        req = AggregateRequest(rendered(where)).load(*[f"@{f}" for f in fields]).cursor(count=batch)
        with store_guard("iterate"):
            res = await self.index.aggregate(req.dialect(2))
        while True:
            rows = []
            for row in res.rows:
                if not row:  # a hash RediSearch cannot load (e.g. a NUL in its key): skip
                    rows.append(tuple(None for _ in fields))
                    continue
                got = {_s(k): _s(v) for k, v in zip(row[::2], row[1::2], strict=False)}
                rows.append(tuple(got.get(f) for f in fields))
            if rows:
                yield rows
            if res.cursor is None or not res.cursor.cid:
                return
            with store_guard("iterate"):
                res = await self.index.aggregate(res.cursor)

    async def scan_texts(self, batch: int = 500) -> AsyncIterator[list[tuple[str, str]]]:
        """``(id, text)`` of every stored memory, ``batch`` keys at a time, by key scan.

        Independent of the index (a hash whose vector has the wrong size is not indexed at
        all), so re-embedding reaches every record.
        """
        with store_guard("scan"):
            async for keys in self._scan_keys(batch):
                rows = await self.mux.batch([("HMGET", key, "id_", "text") for key in keys])
                out = [(row[0].decode(), row[1].decode("utf-8", errors="replace"))
                       for row in rows if row[0] is not None and row[1] is not None]
                if out:
                    yield out

    async def _scan_keys(self, batch: int) -> AsyncIterator[list[bytes]]:
        cursor = 0
        pending: list[bytes] = []
        while True:
            cursor, keys = await self.redis.scan(cursor, match=f"{self.prefix}:*", count=batch,
                                                 _type="HASH")
            pending.extend(keys)
            while len(pending) >= batch:
                yield pending[:batch]
                pending = pending[batch:]
            if cursor == 0:
                break
        if pending:
            yield pending

    async def iter_records(self, where: FilterExpression | None, batch: int,
                           damaged: list[str] | None = None) -> AsyncIterator[list[MemoryRecord]]:
        """Every record matching ``where``, ``batch`` at a time.

        A damaged record (a hash the index cannot load, or whose fields do not decode) is
        skipped, never failing the pass: its id (``""`` when unreadable) goes to ``damaged``.
        """
        async for rows in self.iter_fields(where, ("id_",), batch):
            ids = [row[0] for row in rows if row[0]]
            if damaged is not None:
                damaged.extend("" for row in rows if not row[0])
            records = []
            for memory_id, raw in zip(ids, await self.get_raw(ids) if ids else [], strict=True):
                if raw is None:
                    continue  # deleted meanwhile
                try:
                    records.append(decode(raw))
                except (ValueError, TypeError):  # pydantic's ValidationError is a ValueError
                    if damaged is not None:
                        damaged.append(memory_id)
            if records:
                yield records
