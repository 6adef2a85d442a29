"""Full-text reads and writes that lexical ranking needs, over the long-term text index
(the records' text and session context, no vector: ``ltm_schema.py``).

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
from functools import lru_cache
from typing import Any, NamedTuple

from redisvl.query.filter import FilterExpression, Num, Tag

from agent_memory.storage.filters import tag_eq_or_missing
from agent_memory.storage.long_term import LongTermStore, store_guard
from agent_memory.storage.ltm_schema import CONTEXT_FIELDS, TEXT_FIELD
from agent_memory.storage.mux import Script
from agent_memory.storage.raw_search import as_number

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
_SAMPLE_SCANS = 50  # SCAN calls a sample may take (other keys share the database)
_SCOPE_PAGES = 10  # pages a scope's sample is read in, when it is larger than the sample


# One candidate search: its words, their weights, and (when present and true) whether a
# memory must hold every word rather than any (see LexicalStore.candidates).
CandidateSearch = (tuple[Sequence[str], Mapping[str, float]]
                   | tuple[Sequence[str], Mapping[str, float], bool])


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


# Parsed candidates by their raw reply (key and returned fields, joined), per key prefix
# length: the same memories come back query after query, unchanged until written or
# touched, and reading a hundred of them was a quarter of a hybrid search's CPU. A value is
# a pure function of its key, so a stale entry can never be returned; a cache is emptied
# when full. The key is one bytes object made of the reply's own values (just read, so in
# the CPU's cache): with thousands of memories in play a lookup costs what it reads from
# memory, and comparing with a key of several stored objects read each of them.
_DOCS: dict[int, dict[bytes, TextDoc]] = {}
_DOCS_MAX = 20_000


def _parse_candidates(replies: Sequence[list[Any]], cut: int) -> list[list[TextDoc]]:
    """The documents of the replies (total, then key and fields per document), each memory
    once (in the first reply returning it); ``cut`` strips the key prefix."""
    # One reply names each memory once: only several need the set of those already seen.
    seen: set[bytes] | None = set() if len(replies) > 1 else None
    cache = _DOCS.setdefault(cut, {})
    get = cache.get
    out = []
    for reply in replies:
        docs = []
        for key, fields in zip(reply[1::2], reply[2::2], strict=False):
            if seen is not None:
                if key in seen:
                    continue
                seen.add(key)
            fields = fields or []
            entry = b"\0".join([key, *fields])
            # Only a join with no NUL but its separators splits back into one list of
            # values; a value holding a NUL could join like another reply: not cached.
            if entry.count(b"\0") != len(fields):
                docs.append(_doc(key, fields, cut))
                continue
            doc = get(entry)
            if doc is None:
                doc = _doc(key, fields, cut)
                if len(cache) >= _DOCS_MAX:
                    cache.clear()
                cache[entry] = doc
            docs.append(doc)
        out.append(docs)
    return out


def _first_other(reply: list[Any], exclude: frozenset[str]
                 ) -> tuple[Neighbour, float] | None:
    """The first document of a session lookup's reply (total, then key and fields per
    document) that is not in ``exclude``, with its ``created_at`` when returned."""
    for fields in reply[2::2]:
        values = dict(zip(fields[::2], fields[1::2], strict=False)) if fields else {}
        memory_id = _decoded(values.get(b"id_"))
        if memory_id and memory_id not in exclude:
            return (Neighbour(memory_id, _decoded(values.get(_TEXT))),
                    as_number(values.get(b"created_at")))
    return None


@lru_cache(maxsize=4096)
def _session_scope(namespace: str | None, user_id: str | None, session_id: str,
                   memory_type: str) -> str:
    """The filter of one session's memories of one type, as RedisVL renders it."""
    return str((Tag("session_id") == session_id) & tag_eq_or_missing("namespace", namespace)
               & tag_eq_or_missing("user_id", user_id) & (Tag("memory_type") == memory_type))


def _fields_clause(words: Sequence[str], word_weights: Mapping[str, float],
                   field_weights: Mapping[str, float]) -> str:
    """Any of ``words`` (weighted) in any of the weighted fields, as RedisVL renders it."""
    tokens = " | ".join(f"{w}=>{{$weight:{word_weights[w]}}}" if w in word_weights else w
                        for w in words)
    parts = [f"@{field}:({tokens})" if weight == 1.0
             else f"@{field}:({tokens}) => {{ $weight: {weight} }}"
             for field, weight in field_weights.items()]
    return parts[0] if len(parts) == 1 else "(" + " | ".join(parts) + ")"


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

    async def candidates(self, searches: Sequence[CandidateSearch],
                         where: FilterExpression | None, k: int,
                         field_weights: Mapping[str, float]) -> list[list[TextDoc]]:
        """For each ``(words, word_weights)``, up to ``k`` memories matching any of the words
        in any weighted field (every one of them, in some field each, when the search has a
        third item, true), best first; all searches go in one pipelined batch. A memory
        an earlier search of the batch already returned is left out of the later lists (the
        caller merges them in order): the searches overlap, and reading a candidate's text
        is most of the cost."""
        scope = _scope(where)
        commands = [self._candidate_command(words, word_weights, scope, k, field_weights,
                                            every_word=bool(rest and rest[0]))
                    for words, word_weights, *rest in searches]
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
                           scope: str, k: int, field_weights: Mapping[str, float],
                           *, every_word: bool = False) -> list[object]:
        """The FT.SEARCH RedisVL's ``TextQuery`` sends for these words (BM25STD, no scores,
        ``_CANDIDATE_FIELDS``), built here: RedisVL's builder cost ~7% of a hybrid search's
        CPU. tests/unit/test_lexical_commands.py checks both render the same command.
        ``every_word``: the memories holding every word (each in any of the fields), the
        same clause per word, intersected."""
        if every_word:
            text = " ".join(_fields_clause([w], word_weights, field_weights) for w in words)
        else:
            text = _fields_clause(words, word_weights, field_weights)
        return ["FT.SEARCH", self.store.text_index_name, f"{text} ({scope})" if scope else text,
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
        name = self.store.text_index_name
        with store_guard("term statistics"):
            replies = await self.store.mux.batch(
                [("FT.SEARCH", name, q, "NOCONTENT", "DIALECT", 2, "LIMIT", 0, 0)
                 for q in queries])
        counts = [int(r[0]) for r in replies]
        if not totals:
            return 0, counts, 0
        return counts[0], counts[1 : 1 + len(words)], (counts[-1] if clauses else 0)

    async def sample(self, n: int) -> list[tuple[str, ...]]:
        """The lexical fields (own text and session context) of up to ``n`` memories,
        in the order Redis's keyspace scan meets their keys: the hash of the key decides
        that order, so whatever their content or age they are a random sample of the store
        (services/word_sample.py)."""
        match = f"{self.store.prefix}:*"
        keys: list[bytes] = []
        cursor = 0
        with store_guard("sample"):
            for _ in range(_SAMPLE_SCANS):
                cursor, found = await self.store.mux.execute("SCAN", cursor, "MATCH", match,
                                                             "COUNT", n)
                keys.extend(found)
                if int(cursor) == 0 or len(keys) >= n:
                    break
            # errors as values: a key of another type under the prefix is left out
            replies = await self.store.mux.replies([("HMGET", key, *LEXICAL_FIELDS)
                                                    for key in keys[:n]])
        return [tuple(_decoded(v) for v in reply) for reply in replies
                if isinstance(reply, list) and reply[0] is not None]

    async def scope_sample(self, where: FilterExpression, size: int, n: int
                           ) -> list[tuple[str, ...]]:
        """The lexical fields (as :meth:`sample`) of up to ``size`` memories of ``where``,
        which held ``n`` when last seen: all of them when it holds no more than ``size``,
        else ``_SCOPE_PAGES`` pages spread evenly over the search's order."""
        pages = [(0, size)] if n <= size else [
            (i * n // _SCOPE_PAGES, size // _SCOPE_PAGES) for i in range(_SCOPE_PAGES)]
        name, scope = self.store.text_index_name, _scope(where) or "*"
        with store_guard("sample"):
            replies = await self.store.mux.batch(
                [("FT.SEARCH", name, scope, "RETURN", len(LEXICAL_FIELDS), *LEXICAL_FIELDS,
                  "DIALECT", 2, "LIMIT", offset, count) for offset, count in pages])
        return [tuple(_decoded(v) for v in fields[1::2])
                for reply in replies for fields in reply[2::2] if fields]

    async def session_edges(self, groups: Sequence[tuple[str | None, str | None, str, str,
                                                         float, float, frozenset[str]]],
                            *, arrived: bool = False,
                            ) -> list[tuple[Neighbour | None, Neighbour | None]]:
        """For each ``(namespace, user_id, session_id, memory_type, first_ts, last_ts,
        exclude)``, the stored memory of that type just before ``first_ts`` and just after
        ``last_ts`` in that session (ids in ``exclude``, the new ones, never count).

        ``arrived``: the groups are new memories, which come after the stored ones of the
        same instant (arrival order breaks ties, as request order does inside a batch), so
        only a memory strictly later than ``last_ts`` is after them; and the lookup first
        asks for the session's newest memory (one query per group), asking for both
        neighbours only where that one is later than ``first_ts`` (a second round trip).
        Without it (memories being removed) a stored one at the same instant counts on
        either side.
        """
        # Commands as FilterQuery(scope & clause, return_fields=[...], num_results=n,
        # sort_by=("created_at", order)) sends them, with the scope rendered by RedisVL once
        # per session (every turn of a conversation asks again: building the filter objects
        # cost more API CPU than the rest of the lookup).
        scopes = [_session_scope(ns, user, session, kind)
                  for ns, user, session, kind, *_ in groups]
        out: list[tuple[Neighbour | None, Neighbour | None] | None] = [None] * len(groups)
        todo = list(range(len(groups)))
        if arrived:
            # New memories usually come after every stored one of their session: then the
            # session's newest stored memory is the one before them, and none is after. One
            # query says so; only a group that arrives out of order needs the two below.
            commands = [self._edge_command(scopes[g], None, "DESC", len(groups[g][6]) + 1,
                                           with_time=True) for g in todo]
            with store_guard("session lookup"):
                replies = await self.store.mux.batch(commands)
            todo = []
            for g, reply in enumerate(replies):
                newest = _first_other(reply, groups[g][6])
                if newest is None or newest[1] <= groups[g][4]:
                    out[g] = (newest[0] if newest else None, None)
                else:
                    todo.append(g)
        if todo:
            commands = []
            for g in todo:
                _, _, _, _, first, last, exclude = groups[g]
                later = Num("created_at") > last if arrived else Num("created_at") >= last
                for clause, order in ((Num("created_at") <= first, "DESC"), (later, "ASC")):
                    commands.append(self._edge_command(scopes[g], clause, order,
                                                       len(exclude) + 1))
            with store_guard("session lookup"):
                replies = await self.store.mux.batch(commands)
            for i, g in enumerate(todo):
                before, after = (_first_other(r, groups[g][6])
                                 for r in replies[2 * i: 2 * i + 2])
                out[g] = (before[0] if before else None, after[0] if after else None)
        return [pair if pair is not None else (None, None) for pair in out]

    def _edge_command(self, scope: str, clause: FilterExpression | None, order: str, n: int,
                      *, with_time: bool = False) -> list[Any]:
        query = f"({scope} {clause})" if clause is not None else scope
        fields = ["id_", TEXT_FIELD, *(["created_at"] if with_time else [])]
        return ["FT.SEARCH", self.store.index_name, query, "RETURN", len(fields), *fields,
                "SORTBY", "created_at", order, "DIALECT", 2, "LIMIT", 0, n]

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
