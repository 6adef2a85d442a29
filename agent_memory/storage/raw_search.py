"""FT.SEARCH batches without redis-py's result objects.

RedisVL builds the queries (filters, KNN, text); this module only sends them, in one
batch on the process's mux, and reads the RESP2 replies (flat lists, the cheapest to read)
into plain objects. redis-py's ``Result``/``Document`` parsing cost more CPU than everything
else a search request does (profiled under the mixed load, docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from redis.commands.search.query import Query

from agent_memory.storage.mux import Mux


Doc = dict[bytes, Any]


@dataclass
class RawResult:
    """``total`` as RediSearch counts it, and the documents: returned fields by their
    (bytes) names with raw values, plus ``b"id"`` (the key) and, with WITHSCORES,
    ``b"score"`` (a float). Read values with :func:`text` and :func:`number`."""

    total: int
    docs: list[Doc]


SearchArgs = tuple[Query, Mapping[str, Any] | None]


def text(doc: Doc, name: bytes, default: str = "") -> str:
    """A field as text (``default`` when absent)."""
    value = doc.get(name)
    if value is None:
        return default
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def number(doc: Doc, name: bytes) -> float:
    """A numeric field (0.0 when absent, empty or not a number)."""
    return as_number(doc.get(name))


def as_number(value: Any) -> float:
    """A stored value as a number (0.0 when absent, empty or not a number)."""
    if value in (None, b"", ""):
        return 0.0
    try:
        return float(value)
    except ValueError:
        return 0.0


def search_command(index_name: str, query: Query,
                   params: Mapping[str, Any] | None) -> list[Any]:
    """The FT.SEARCH command of one query (for :meth:`Mux.execute`)."""
    args: list[Any] = ["FT.SEARCH", index_name, *query.get_args()]
    if params:
        args += ["PARAMS", 2 * len(params)]
        for name, value in params.items():
            args += [name, value]
    return args


def _doc(key: Any, fields: Any, score: Any = None) -> Doc:
    doc = dict(zip(fields[::2], fields[1::2], strict=False)) if fields else {}
    doc[b"id"] = key
    if score is not None:
        doc[b"score"] = float(score)
    return doc


def parse_reply(reply: Any, query: Query) -> RawResult:
    """One FT.SEARCH reply (RESP2) as a :class:`RawResult`."""
    scores = bool(query._with_scores)
    total, rest = int(reply[0]), reply[1:]
    if query._no_content:
        return RawResult(total, [{b"id": key} for key in rest])
    if scores:
        return RawResult(total, [_doc(rest[i], rest[i + 2], rest[i + 1])
                                 for i in range(0, len(rest) - 2, 3)])
    return RawResult(total, [_doc(rest[i], rest[i + 1]) for i in range(0, len(rest) - 1, 2)])


def search_commands(index_name: str, queries: Sequence[SearchArgs]) -> list[list[Any]]:
    """The FT.SEARCH commands of ``queries``, for a batch (read the replies with
    parse_replies)."""
    return [search_command(index_name, query, params) for query, params in queries]


def parse_replies(replies: Sequence[Any], queries: Sequence[SearchArgs]) -> list[RawResult]:
    """The replies of queued ``queries``, in order."""
    return [parse_reply(reply, query) for reply, (query, _) in zip(replies, queries, strict=True)]


async def search_batch(mux: Mux, index_name: str,
                       queries: Sequence[SearchArgs]) -> list[RawResult]:
    """Run ``queries`` (redis-py query, params) in one round trip, replies in order."""
    if len(queries) == 1:
        query, params = queries[0]
        return [parse_reply(await mux.execute(*search_command(index_name, query, params)), query)]
    return parse_replies(await mux.batch(search_commands(index_name, queries)), queries)
