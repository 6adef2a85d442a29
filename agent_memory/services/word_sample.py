"""Estimated word counts from a sample of the store's memories or of a large scope's.

Hybrid search weighs each query word by its IDF, which needs how many memories in scope
hold the word. RediSearch counts a word by walking every memory holding it: ~23 ms of
Redis's one thread for a word in 130,000 of a million memories (docs/benchmarks.md,
issue-17k), so the first search with such a word paid ~23 ms per word, and counts reused
for ``COUNTS_TTL`` seconds (services/ltm_search.py) left that in every search with a word
not seen lately. In a store of at least ``min_store`` memories, a word that at least
``MIN_HITS`` memories of a random sample hold is given an estimate instead of a count; a
rarer word is still counted exactly, which is cheap because it is rare in the store.

- With no filter the estimate is ``hits * N / sampled``. Its relative standard error is
  about ``1 / sqrt(hits)`` (at most ~22% with ``MIN_HITS`` 20; an IDF ``log(1 + N / df)``
  then moves by at most ~0.2, against ~2-5 for the words concerned), and it is only used
  when it is at least ``floor`` (ten times the count above which a word fetches no
  candidates of its own, services/ranking.py), so which words fetch candidates is the same
  as with exact counts, except by an extremely unlikely sample.
- In a filtered scope last seen holding ``n`` memories (a tenant's, say), the sample is
  the scope's own: up to ``size`` of its memories, all of them in a scope no larger than
  that (then a word's estimate is its exact count when the sample was read, scaled by the
  scope's growth since), evenly spread pages of them in a larger one; the estimate is
  ``hits * n / sampled`` with no floor. A word that fewer than ``MIN_HITS`` sampled
  memories hold is counted. Counting one word in a tenant's 1,000 memories of a 1M store
  walks the skip list of its ~130,000 postings (~1 ms, up to four per query); reading the
  sample costs one search of ``size`` memories' text and their analysis (~15-20 ms at
  1,000), once per scope every ``ttl`` seconds, and only for a scope that wants it a
  second time within ``ttl`` (the first time its words are counted): a scope searched
  once in a while keeps paying only its counts (docs/benchmarks.md, issue-17g).

``total``, the filters and the candidate searches' matches stay exact; the estimates only
set IDF weights (of the score and of the candidate query's word weights) and, in a scope,
which words are selective enough to fetch candidates. Neither kind of sample is read in a
store smaller than ``min_store`` (its size, from FT.INFO, read again every ``ttl``).

The store's sample is the first ``size`` memory keys of a keyspace scan (storage/lexical.py).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence

from redisvl.query.filter import FilterExpression

from agent_memory.services.ranking import document_stems
from agent_memory.storage.lexical import LexicalStore

SIZE = 2_000
MIN_HITS = 20
TTL = 300.0


class _Sample:
    """Memories' stems from one read: how many sampled memories hold each."""

    def __init__(self, memories: Sequence[Sequence[str]]) -> None:
        hits: Counter[str] = Counter()
        for fields in memories:
            hits.update(document_stems(fields))
        # only the stems common enough to be estimated: a thousand scopes' samples of
        # varied text would otherwise keep every rare word of each
        self.hits = {stem: count for stem, count in hits.items() if count >= MIN_HITS}
        self.sampled, self.read_at = len(memories), time.monotonic()

    def estimates(self, stems: Sequence[str], n: int, floor: int) -> dict[str, int]:
        if not self.sampled:
            return {}
        out = {}
        for stem in stems:
            hits = self.hits.get(stem, 0)
            if hits >= MIN_HITS:
                estimate = min(round(hits * n / self.sampled), n)
                if estimate >= floor:
                    out[stem] = estimate
        return out


_NONE = _Sample(())
_NONE.read_at = float("-inf")  # never read: stale
_SCOPES_KEPT = 1_000  # scopes whose sample is kept at most


class WordSample:
    """Samples of the store's memories and of large filtered scopes' (see the module docs)."""

    def __init__(self, lexical: LexicalStore, *, floor: int, min_store: int,
                 size: int = SIZE, ttl: float = TTL) -> None:
        self.lexical = lexical
        self.floor = floor  # the smallest unfiltered estimate used (see the module docs)
        self.min_store = min_store  # the smallest store estimated at all
        self.size = size
        self.ttl = ttl
        self._store = _NONE
        self._scopes: dict[str, _Sample] = {}
        self._asked: dict[str, float] = {}  # scope -> when it last wanted a missing sample
        self._stored = 0  # the store's size, read at ``_stored_at``
        self._stored_at = float("-inf")

    async def estimates(self, stems: Sequence[str], n: int,
                        where: FilterExpression | None = None) -> dict[str, int]:
        """``{stem: estimated memories holding it}`` among ``n`` (the store's, or those
        of the scope ``where``), for the stems common enough in the sample to be
        estimated (the others must be counted); none in a store smaller than
        ``min_store``."""
        now = time.monotonic()
        if now - self._stored_at > self.ttl:
            self._stored = await self.lexical.store.indexed_count() or 0
            self._stored_at = now
        if self._stored < self.min_store:
            return {}
        if where is None:
            if now - self._store.read_at > self.ttl:
                self._store = _Sample(await self.lexical.sample(self.size))
            return self._store.estimates(stems, n, self.floor)
        scope = str(where)
        sample = self._scopes.get(scope)
        if sample is None or now - sample.read_at > self.ttl:
            # Only for a scope searched again within ``ttl``: a scope searched once in a
            # while would pay the read at every search, where its counts cost less.
            asked, self._asked[scope] = self._asked.get(scope, float("-inf")), now
            if now - asked > self.ttl:
                return {}
            for kept in (self._scopes, self._asked):
                if len(kept) >= _SCOPES_KEPT and scope not in kept:
                    kept.clear()
            sample = self._scopes[scope] = _Sample(
                await self.lexical.scope_sample(where, self.size, n))
        return sample.estimates(stems, n, 1)
