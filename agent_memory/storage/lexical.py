"""Full-text reads and writes that lexical ranking needs, over the long-term index.

- :meth:`LexicalStore.candidates`: memories matching any of some words (own text or the
  session-context fields), with their text and context, RediSearch-ranked; several such
  searches in one pipelined batch.
- :meth:`LexicalStore.document_counts`: how many memories are in scope, and how many of
  them contain each word (the statistics BM25 needs), in one pipelined batch.
- :meth:`LexicalStore.session_edges` / :meth:`LexicalStore.set_context`: find the stored
  neighbours of new messages in their session and write context fields, batched.

Words reaching this module are plain tokens (letters and digits, see
``services/text_query.py``): nothing here escapes user text itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from redisvl.query import FilterQuery
from redisvl.query.filter import FilterExpression, Num, Tag

from agent_memory.storage.filters import tag_eq_or_missing
from agent_memory.storage.long_term import LongTermStore, store_guard
from agent_memory.storage.ltm_schema import CONTEXT_FIELDS, TEXT_FIELD
from agent_memory.storage.mux import Script
from agent_memory.storage.raw_search import as_number, text

# Only writes the fields when the memory still exists: a plain HSET on a key deleted in the
# meantime would leave a half record behind.
_SET_IF_EXISTS = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
"""

LEXICAL_FIELDS = (TEXT_FIELD, *CONTEXT_FIELDS)
_TEXT = TEXT_FIELD.encode()
_PREV, _NEXT = (name.encode() for name in CONTEXT_FIELDS)
# The id is the key's suffix: no need to return ``id_``.
_CANDIDATE_FIELDS = ["created_at", "last_accessed", *LEXICAL_FIELDS]


def _decoded(value: bytes | None) -> str:
    return value.decode("utf-8", "replace") if value else ""


class TextDoc(NamedTuple):
    """A full-text candidate with what re-ranking needs."""

    memory_id: str
    created_at: float
    last_accessed: float
    text: str
    context_prev: str
    context_next: str


@dataclass(frozen=True)
class Neighbour:
    """A stored memory next to a group of new ones in its session."""

    memory_id: str
    text: str


def _doc(key: bytes, fields: Sequence[bytes], cut: int) -> TextDoc:
    values = dict(zip(fields[::2], fields[1::2], strict=False))
    created, accessed = values.get(b"created_at"), values.get(b"last_accessed")
    try:
        times = (float(created or 0), float(accessed or 0))
    except ValueError:  # a stored value that is not a number counts as 0
        times = (as_number(created), as_number(accessed))
    return TextDoc(key[cut:].decode("utf-8", "replace"), *times, _decoded(values.get(_TEXT)),
                   _decoded(values.get(_PREV)), _decoded(values.get(_NEXT)))


# Parsed candidates by their raw reply (key and returned fields): the same memories come
# back query after query, unchanged until written or touched, and reading a hundred of them
# was a quarter of a hybrid search's CPU. A value is a pure function of its key, so a stale
# entry can never be returned; the cache is emptied when full.
_DOCS: dict[tuple[object, ...], TextDoc] = {}
_DOCS_MAX = 20_000


def _parse_candidates(replies: Sequence[list[Any]], cut: int) -> list[list[TextDoc]]:
    """The documents of the replies (total, then key and fields per document), each memory
    once (in the first reply returning it); ``cut`` strips the key prefix."""
    seen: set[bytes] = set()
    cache = _DOCS
    out = []
    for reply in replies:
        docs = []
        for n in range(1, len(reply) - 1, 2):
            key = reply[n]
            if key in seen:
                continue
            seen.add(key)
            fields = reply[n + 1] or ()
            entry = (cut, key, *fields)
            doc = cache.get(entry)
            if doc is None:
                doc = _doc(key, fields, cut)
                if len(cache) >= _DOCS_MAX:
                    cache.clear()
                cache[entry] = doc
            docs.append(doc)
        out.append(docs)
    return out


def _scope(where: FilterExpression | None) -> str:
    """The filter as a query clause ("" for none: an empty expression renders as the
    wildcard, which RedisVL leaves out of an intersection too)."""
    scope = str(where) if where is not None else ""
    return "" if scope == "*" else scope


class LexicalStore:
    """Full-text helpers over a :class:`LongTermStore`'s index (same keys, same client)."""

    def __init__(self, store: LongTermStore) -> None:
        self.store = store
        self._set_if_exists = store.mux.script(_SET_IF_EXISTS)

    async def candidates(self, searches: Sequence[tuple[Sequence[str], Mapping[str, float]]],
                         where: FilterExpression | None, k: int,
                         field_weights: Mapping[str, float]) -> list[list[TextDoc]]:
        """For each ``(words, word_weights)``, up to ``k`` memories matching any of the words
        in any weighted field, best first; all searches go in one pipelined batch. A memory
        an earlier search of the batch already returned is left out of the later lists (the
        caller merges them in order): the searches overlap, and reading a candidate's text
        is most of the cost."""
        scope = _scope(where)
        commands = [self._candidate_command(words, word_weights, scope, k, field_weights)
                    for words, word_weights in searches]
        if not commands:
            return []
        with store_guard("text search"):
            replies = await self.store.mux.batch(commands)
        return _parse_candidates(replies, len(self.store.prefix) + 1)

    async def every_candidate(self, words: Sequence[str], where: FilterExpression | None,
                              k: int, field_weights: Mapping[str, float]
                              ) -> list[TextDoc] | None:
        """Every memory in ``where`` matching any of ``words`` (the union :meth:`candidates`
        draws from), or ``None`` when more than ``k`` match: the list would be cut."""
        command = self._candidate_command(words, {}, _scope(where), k, field_weights)
        with store_guard("text search"):
            reply = await self.store.mux.execute(*command)
        if int(reply[0]) > k:
            return None
        return _parse_candidates([reply], len(self.store.prefix) + 1)[0]

    def _candidate_command(self, words: Sequence[str], word_weights: Mapping[str, float],
                           scope: str, k: int, field_weights: Mapping[str, float]
                           ) -> list[object]:
        """The FT.SEARCH RedisVL's ``TextQuery`` sends for these words (BM25STD, no scores,
        ``_CANDIDATE_FIELDS``), built here: RedisVL's builder cost ~7% of a hybrid search's
        CPU. tests/unit/test_lexical_commands.py checks both render the same command."""
        tokens = " | ".join(f"{w}=>{{$weight:{word_weights[w]}}}" if w in word_weights else w
                            for w in words)
        parts = [f"@{field}:({tokens})" if weight == 1.0
                 else f"@{field}:({tokens}) => {{ $weight: {weight} }}"
                 for field, weight in field_weights.items()]
        text = parts[0] if len(parts) == 1 else "(" + " | ".join(parts) + ")"
        return ["FT.SEARCH", self.store.index_name, f"{text} ({scope})" if scope else text,
                "SCORER", "BM25STD", "RETURN", len(_CANDIDATE_FIELDS), *_CANDIDATE_FIELDS,
                "DIALECT", 2, "LIMIT", 0, k]

    async def document_counts(self, words: Sequence[str], where: FilterExpression | None,
                              *, totals: bool = True) -> tuple[int, list[int], int]:
        """``(memories in scope, [memories containing each word], memories containing any)``,
        counting a word in any lexical field, in one pipelined batch (without ``totals``,
        the first and last are 0 and not asked for).

        RediSearch stems the word, so a count covers every form sharing its stem.
        """
        # Query strings built here, the filter's once: RedisVL would render it per count.
        scope = _scope(where)
        clauses = ["(" + " | ".join(f"@{field}:({word})" for field in LEXICAL_FIELDS) + ")"
                   for word in words]
        queries = [f"({scope} {c})" if scope else c for c in clauses]
        if totals:
            queries.insert(0, scope or "*")
            if clauses:
                union = "(" + " | ".join(clauses) + ")"
                queries.append(f"({scope} {union})" if scope else union)
        if not queries:
            return 0, [], 0
        name = self.store.index_name
        with store_guard("term statistics"):
            replies = await self.store.mux.batch(
                [("FT.SEARCH", name, q, "NOCONTENT", "DIALECT", 2, "LIMIT", 0, 0)
                 for q in queries])
        counts = [int(r[0]) for r in replies]
        if not totals:
            return 0, counts, 0
        return counts[0], counts[1 : 1 + len(words)], (counts[-1] if clauses else 0)

    async def session_edges(self, groups: Sequence[tuple[str | None, str | None, str, str,
                                                         float, float, frozenset[str]]],
                            ) -> list[tuple[Neighbour | None, Neighbour | None]]:
        """For each ``(namespace, user_id, session_id, memory_type, first_ts, last_ts,
        exclude)``, the stored memory of that type just before ``first_ts`` and just after
        ``last_ts`` in that session (ids in ``exclude``, the new ones, never count). One
        pipelined batch."""
        queries = []
        for namespace, user_id, session_id, memory_type, first, last, exclude in groups:
            scope = (Tag("session_id") == session_id) & tag_eq_or_missing("namespace", namespace) \
                & tag_eq_or_missing("user_id", user_id) & (Tag("memory_type") == memory_type)
            n = len(exclude) + 1
            for clause, order in ((Num("created_at") <= first, "DESC"),
                                  (Num("created_at") >= last, "ASC")):
                q = FilterQuery(scope & clause, return_fields=["id_", TEXT_FIELD],
                                num_results=n, sort_by=("created_at", order))
                queries.append((q.query, q.params))
        if not queries:
            return []
        with store_guard("session lookup"):
            results = await self.store.search_raw(queries)
        out: list[tuple[Neighbour | None, Neighbour | None]] = []
        for g, group in enumerate(groups):
            pair: list[Neighbour | None] = []
            for res in results[2 * g: 2 * g + 2]:
                found = next((Neighbour(text(d, b"id_"), text(d, _TEXT))
                              for d in res.docs if text(d, b"id_") not in group[6]), None)
                pair.append(found)
            out.append((pair[0], pair[1]))
        return out

    def context_commands(self, updates: Mapping[str, Mapping[str, str]]
                         ) -> list[tuple[object, ...]]:
        """The commands :meth:`set_context` sends (for a batch that also has
        :attr:`context_script` among its scripts)."""
        return [self._set_if_exists.command([self.store.key(memory_id)],
                                            [part for item in fields.items() for part in item])
                for memory_id, fields in updates.items()]

    @property
    def context_script(self) -> Script:
        return self._set_if_exists

    async def set_context(self, updates: Mapping[str, Mapping[str, str]]) -> None:
        """Write context fields ``{memory_id: {field: text}}`` of memories that still exist."""
        if not updates:
            return
        with store_guard("context write"):
            await self.store.mux.batch(self.context_commands(updates), [self._set_if_exists])
