"""Estimated word counts from a random sample of the whole store's memories.

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
- In a filtered scope of ``n`` memories (a tenant's, say) the estimate is the word's share
  of the store scaled to the scope, ``hits * n / sampled``, with no floor. Counting such a
  word in a tenant's 1,000 memories of a 1M store still walks the skip lists of its
  ~130,000 postings (~1 ms each, four per query: docs/benchmarks.md, issue-17g). This
  estimate is only as good as the scope resembles the store: a scope that uses a
  store-common word much less (or more) than the store does gets that word's IDF wrong,
  a ranking change measured in docs/search-quality.md (issue-17g).

``total``, the filters and the candidate searches' matches stay exact; the estimates only
set IDF weights (of the score and of the candidate query's word weights) and, in a scope,
which words are selective enough to fetch candidates.

The sample is the first ``size`` memory keys of a keyspace scan (storage/lexical.py),
read again every ``ttl`` seconds, with the store's size (FT.INFO) checked first: a store
smaller than ``min_store`` is not sampled.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence

from agent_memory.services.ranking import analyze
from agent_memory.services.text_query import index_stopwords
from agent_memory.storage.lexical import LexicalStore

SIZE = 2_000
MIN_HITS = 20
TTL = 300.0


class WordSample:
    """A random sample of the store's memories, as the stems each holds."""

    def __init__(self, lexical: LexicalStore, *, floor: int, min_store: int,
                 size: int = SIZE, ttl: float = TTL) -> None:
        self.lexical = lexical
        self.floor = floor  # the smallest unfiltered estimate used (see the module docs)
        self.min_store = min_store  # the smallest store estimated at all
        self.size = size
        self.ttl = ttl
        self._hits: Counter[str] = Counter()  # stem -> sampled memories holding it
        self._sampled = 0
        self._read_at = float("-inf")

    async def estimates(self, stems: Sequence[str], n: int, *,
                        scoped: bool = False) -> dict[str, int]:
        """``{stem: estimated memories holding it}`` among ``n`` (the whole store, or a
        filtered scope's ``n`` when ``scoped``), for the stems common enough in the store
        to be estimated (the others must be counted); none in a store smaller than
        ``min_store``."""
        if time.monotonic() - self._read_at > self.ttl:
            await self._read()
        if not self._sampled:
            return {}
        floor = 1 if scoped else self.floor
        out = {}
        for stem in stems:
            hits = self._hits.get(stem, 0)
            if hits >= MIN_HITS:
                estimate = min(round(hits * n / self._sampled), n)
                if estimate >= floor:
                    out[stem] = estimate
        return out

    async def _read(self) -> None:
        stored = await self.lexical.store.indexed_count()
        texts = await self.lexical.sample(self.size) if (stored or 0) >= self.min_store \
            else []
        stop = index_stopwords()
        hits: Counter[str] = Counter()
        for text in texts:
            hits.update({stem for stem, _ in analyze(text, stop)})
        self._hits, self._sampled, self._read_at = hits, len(texts), time.monotonic()
