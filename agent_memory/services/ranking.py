"""Lexical ranking: BM25 computed here over RediSearch candidates, with session context and
pseudo-relevance feedback. What it does and why is measured in docs/search-quality.md.

RediSearch finds the candidates (any query word in the memory's text or its session-context
fields) and counts documents; the ranking itself is Okapi BM25 computed in Python because
RediSearch 2.10's BM25STD scores a word twice when its stem differs from it, clamps common
words' IDF to zero and mixes every field's frequencies, which loses a fifth of the recall
on the conversation benchmark. Steps, for one query:

1. analyse the query: plain words, no stopwords, Snowball stems;
2. count the memories in scope and those containing each query word (one batch), then
   fetch the top ``depth`` candidates, each word weighted by its IDF;
3. score each candidate as one bag of stems: its text, plus its session context (previous
   message at ``prev_weight``, next at ``next_weight``, see services/session_context.py),
   whose BM25 length counts context words ``context_length`` times their weight;
4. pseudo-relevance feedback: the words that weigh most in the best ``feedback_docs``
   memories (frequency over length, never a query word) are searched too, at
   ``feedback_weight``; their counts and candidates are fetched the same way. The hybrid
   default's list (``feedback_candidates`` and ``feedback_counts`` false) fetches
   nothing more: the feedback words only re-score the candidates already found, their
   IDF counted among those candidates, so a hybrid search makes one full-text round trip
   fewer (docs/search-quality.md, section 6).

RediSearch 2.10's own BM25STD cannot stand in for this (section 6): a memory re-indexed
after an update (context fields, access times) leaves its old entries in the term
statistics until the index's garbage collection runs, the word's document count then
exceeds the index size and its IDF overflows (37.7 instead of ~0.2 for a word in most
memories), so one common word outweighs everything else.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain, repeat
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from redisvl.query.filter import FilterExpression

from agent_memory.services.text_query import MAX_TERMS, index_stopwords, stopwords
from agent_memory.storage.lexical import CandidateSearch, LexicalStore, TextDoc

_STATS_CACHE = 20_000  # candidates whose bag a ranker keeps (see LexicalRanker._stats)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


@dataclass(frozen=True)
class RankingParams:
    """Tuned on the LoCoMo dev set (docs/search-quality.md); general, not data-specific."""

    k1: float = 1.2
    b: float = 0.5
    prev_weight: float = 0.5
    next_weight: float = 0.4
    depth: int = 100
    feedback_docs: int = 5
    feedback_terms: int = 5
    feedback_weight: float = 0.2
    # Words in more than this share of the memories in scope stay out of the candidate
    # query (they still count in the score): they add little but flood the window.
    candidate_max_df: float = 0.2
    # Words in more memories than this never fetch candidates by themselves: RediSearch
    # scores every memory a candidate query matches (no early termination), so one common
    # word in a scope of a million memories costs a scoring of 130,000 of them. They still
    # count in the score of the candidates the other words find; when every query word is
    # this common, the candidates are the memories holding all of them. In a scope of at
    # most this many memories no word can pass it and the ranking is what it was (every
    # LoCoMo conversation and the paraphrase set are smaller: docs/search-quality.md).
    candidate_max_count: int = 1_000
    # Modal and filler words of questions ("would she likely...") that carry no topic.
    query_fillers: frozenset[str] = frozenset(
        {"would", "could", "might", "shall", "also", "likely"})
    # How much the (weighted) context words count in a memory's BM25 length, relative to
    # their weight in its term frequencies: above 1, a memory whose neighbours are long is
    # normalised harder, so a match in its own short text is not drowned by context
    # matches of chatty neighbours (LoCoMo fold check in docs/search-quality.md).
    context_length: float = 3.0
    # Each pair of consecutive query words found next to each other, in order, in a
    # memory's own text adds this share of the pair's mean IDF: the exact phrase ranks
    # above the same words scattered (LoCoMo held-out fold: neutral at 0.1).
    phrase_weight: float = 0.1
    # Whether the feedback words fetch candidates of their own (a second candidate search)
    # or only re-score the memories the query words found (their counts are still fetched).
    feedback_candidates: bool = True
    # Without candidates of their own, whether the feedback words' document counts are
    # fetched (a round trip) or taken from the candidates themselves (their IDF among
    # the memories being re-ranked).
    feedback_counts: bool = True


# A candidate, its weighted bag, BM25 length and the stem pairs of its own text (one flat
# tuple: each object a ranking reads is one more read of memory per candidate).
_Stats = tuple[TextDoc, Counter[str], float, frozenset[tuple[str, str]]]


class _Norms(NamedTuple):
    """The candidates being ranked, in one order: ids, weighted bags, stem pairs of their
    own text, BM25 normalisations. Scores are arrays in this order."""

    ids: list[str]
    bags: list[Counter[str]]
    pairs: list[frozenset[tuple[str, str]]]
    norm: npt.NDArray[np.float64]


class Ranked(NamedTuple):
    """A candidate, its BM25 score (higher is better) and how much of the query it covers:
    the score over the score of a memory of average length holding every query word once
    (the sum of the query words' IDF), capped at 1. Unlike ``score / best score`` it does
    not call the best of a poor lot a perfect match, so it can be weighed against vector
    similarity (services/fusion.py)."""

    doc: TextDoc
    score: float
    coverage: float = 0.0


@lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
    import snowballstemmer

    return snowballstemmer.stemmer("english")


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    # Snowball's English stemmer leaves an ASCII number as it is (checked for every number
    # below 100,000 and 50,000 random ones below 10^12) but takes ~140 µs to say so, and
    # numbers are the words a cache of stems misses most (ids, amounts, years).
    if word.isdigit() and word.isascii():
        return word
    return str(_stemmer().stemWord(word))


def analyze(text: str, stop: frozenset[str] | None = None) -> list[tuple[str, str]]:
    """``(stem, word)`` for each content word of ``text``: lower-cased letters/digits, no
    stopwords (``stop``, default: the full query list), no single letters."""
    return [(_stem(word), word)
            for word in _content(text, stopwords() if stop is None else stop)]


def _content(text: str, stop: frozenset[str]) -> list[str]:
    """The content words of ``text`` that :func:`analyze` stems, in order."""
    return [word for word in _WORD.findall(text.lower())
            if word not in stop and (len(word) > 1 or word.isdigit())]


@lru_cache(maxsize=20_000)
def _content_words(text: str) -> tuple[tuple[str, str], ...]:
    """``analyze(text)`` with the query stopword list, cached (feedback reads the same
    best memories query after query)."""
    return tuple(analyze(text))


@lru_cache(maxsize=100_000)
def _stem_seq(text: str) -> tuple[str, ...]:
    """The stems of one text in order, cached: the same memories come back query after
    query."""
    # Documents keep the words RediSearch indexes: stopwords never match a query (the query
    # drops them) but they do make a memory longer, and BM25's length normalisation works
    # better with the real length (LoCoMo: 0.739 -> 0.748 offline).
    # The stems of analyze(text, index_stopwords()) without building its pairs: ~15% less
    # per new candidate (docs/benchmarks.md, issue-17g).
    return tuple(map(_stem, _content(text, index_stopwords())))


def document_stems(fields: Sequence[str]) -> set[str]:
    """The stems a memory's lexical fields hold, as its candidate analysis finds them (and
    through the same cache: a memory sampled first is analysed once)."""
    return set(chain.from_iterable(map(_stem_seq, fields)))


@lru_cache(maxsize=100_000)
def _stems(text: str) -> Counter[str]:
    """Stem counts of one text, cached. Callers must not modify the returned counter."""
    return Counter(_stem_seq(text))


@lru_cache(maxsize=100_000)
def _pairs(text: str) -> frozenset[tuple[str, str]]:
    """Adjacent stem pairs of one text (stopwords skipped), cached."""
    seq = _stem_seq(text)
    return frozenset(zip(seq, seq[1:], strict=False))


def _bag(doc: TextDoc, params: RankingParams) -> tuple[Counter[str], float]:
    """A memory's weighted stem counts (own text + context) and its BM25 length, cached
    (the same memories come back query after query). Callers must not modify the bag."""
    return _weighted_bag(doc.text, doc.context_prev, doc.context_next, params.prev_weight,
                         params.next_weight, params.context_length)


@lru_cache(maxsize=50_000)
def _weighted_bag(text: str, prev: str, nxt: str, prev_weight: float, next_weight: float,
                  context_length: float) -> tuple[Counter[str], float]:
    own = _stems(text)
    length = float(sum(own.values()))
    if not ((prev and prev_weight) or (nxt and next_weight)):
        return own, length
    bag: Counter[str] = Counter(own)
    for context, weight in ((prev, prev_weight), (nxt, next_weight)):
        if context and weight:
            stems = _stems(context)
            for stem, f in stems.items():
                bag[stem] += weight * f
            length += context_length * weight * sum(stems.values())
    return bag, length


class LexicalRanker:
    """Runs the steps in the module docs against a :class:`LexicalStore`."""

    def __init__(self, store: LexicalStore, params: RankingParams | None = None) -> None:
        self.store = store
        self.params = params or RankingParams()
        # id of a candidate -> its stats, the candidate first: see ``_stats``
        self._cache: dict[int, _Stats] = {}

    @property
    def field_weights(self) -> dict[str, float]:
        """How RediSearch weighs the fields when it picks candidates."""
        p = self.params
        weights = {"text": 1.0, "context_prev": p.prev_weight, "context_next": p.next_weight}
        return {field: w for field, w in weights.items() if w > 0}

    def terms(self, text: str) -> dict[str, str]:
        """The query's distinct stems (no stopwords, no filler words), each with the first
        word that produced it."""
        fillers = self.params.query_fillers
        return _terms([(s, w) for s, w in analyze(text) if w not in fillers])

    async def search(self, text: str, where: FilterExpression | None,
                     k: int) -> tuple[list[Ranked], int]:
        """The best ``k`` memories for ``text`` within ``where``, and how many match a word."""
        query = self.terms(text)
        if not query:
            return [], 0
        n, df, total = await self._counts(query, where)
        if not total:  # no memory in scope has any query word: no candidate round trip
            return [], 0
        return await self.rank(query, n, df, where, k, total)

    def depth(self, k: int) -> int:
        """How many candidates the query words fetch for the best ``k``."""
        return max(k, self.params.depth)

    async def rank(self, query: dict[str, str], n: int, df: dict[str, int],
                   where: FilterExpression | None, k: int,
                   total: int = 0, docs: list[TextDoc] | None = None
                   ) -> tuple[list[Ranked], int]:
        """Steps 2-4 once the query words are counted (``n`` memories in scope, ``df`` per
        stem, updated in place); returns the best ``k`` and ``total`` (the memories with
        any query word), widened by the feedback words' matches when they fetch
        candidates of their own. ``docs``: the candidates step 2 would fetch, when the caller
        already has them (every memory in scope with a query word, when there are no more
        than ``depth(k)``): its round trip is skipped (the ranking does not depend on
        their order)."""
        p = self.params
        depth = self.depth(k)
        if docs is None:
            docs = await self.candidates(query, df, n, where, depth)
        pool = {d.memory_id: d for d in docs}
        bags = {i: self._stats(d) for i, d in pool.items()}
        norms = self._norms(bags)
        scores = self._bm25(norms, query, df, n, weight=1.0)
        expansion = self._feedback(scores, norms.ids, pool, query) if p.feedback_docs else {}
        expansion_tf = None  # the expansion words' frequencies, when read here already
        if expansion and p.feedback_candidates:
            # Counted with the query words so ``total`` covers every memory that can rank.
            _, more_df, total = await self._counts({**query, **expansion}, where)
            df.update(more_df)
            more = await self.candidates(expansion, df, n, where, depth, p.feedback_weight)
            for d in more:
                if d.memory_id not in pool:
                    pool[d.memory_id] = d
                    bags[d.memory_id] = self._stats(d)
            norms = self._norms(bags)
            scores = self._bm25(norms, query, df, n, weight=1.0)
        elif expansion and p.feedback_counts:  # their counts only: the pool stays
            counts = await self.store.document_counts(list(expansion.values()), where,
                                                      totals=False)
            df.update(zip(expansion, counts[1], strict=True))
        elif expansion:  # counted among the candidates: no round trip
            n_expansion = len(bags)
            expansion_tf = self._tf(norms, list(expansion))
            df.update(zip(expansion, (expansion_tf > 0).sum(axis=1).tolist(), strict=True))
        if p.phrase_weight and len(query) > 1:
            scores = self._phrases(scores, norms.pairs, query, df, n)
        ceiling = sum(_idf(df, n, query).values())
        if expansion:
            n_fb = n if p.feedback_candidates or p.feedback_counts else n_expansion
            # A memory without a feedback word adds 0.0, one without a query word starts
            # from 0.0: the sums of adding only the non-zero parts, exactly.
            scores = scores + self._bm25(norms, expansion, df, n_fb, weight=p.feedback_weight,
                                         tf=expansion_tf)
            ceiling += p.feedback_weight * sum(_idf(df, n_fb, expansion).values())
        ceiling = ceiling or 1.0
        best = _best(scores, norms.ids, k, above=0.0)
        new = tuple.__new__  # a Ranked without NamedTuple's Python-level __new__
        return [new(Ranked, (pool[i], -s, min(-s / ceiling, 1.0))) for s, i in best], total

    def _stats(self, doc: TextDoc) -> _Stats:
        """A candidate's weighted bag, BM25 length and stem pairs, cached by the candidate
        object (storage/lexical.py hands back the same object for a memory as long as its
        text, context and times are unchanged), so each costs one lookup query after query.
        Keyed by ``id``, which the entry's own reference keeps from being reused: hashing
        the candidate's fields meant reading each of them from memory again."""
        found = self._cache.get(id(doc))
        if found is not None and found[0] is doc:
            return found
        if len(self._cache) >= _STATS_CACHE:
            self._cache.clear()
        stats = self._cache[id(doc)] = (doc, *_bag(doc, self.params), _pairs(doc.text))
        return stats

    def _norms(self, bags: dict[str, _Stats]) -> _Norms:
        """Each candidate's bag and BM25 length normalisation ``k1 * (1 - b + b * len / avg)``.

        The average length of the candidates stands in for the corpus average (which
        RediSearch does not expose per filter); candidates are the documents that matter.
        fsum: the same average whatever order the candidates came in."""
        k1, b = self.params.k1, self.params.b
        lengths = [length for _, _, length, _ in bags.values()]
        avg = (math.fsum(lengths) / len(lengths)) if lengths else 1.0
        avg = avg or 1.0
        stats = bags.values()
        return _Norms(list(bags), [bag for _, bag, _, _ in stats], [pairs for *_, pairs in stats],
                      k1 * (1 - b + b * np.array(lengths, dtype=float) / avg))

    async def _counts(self, terms: dict[str, str], where: FilterExpression | None,
                      ) -> tuple[int, dict[str, int], int]:
        n, counts, any_word = await self.store.document_counts(list(terms.values()), where)
        return n, dict(zip(terms, counts, strict=True)), any_word

    async def candidates(self, terms: dict[str, str], df: dict[str, int], n: int,
                         where: FilterExpression | None, depth: int,
                         scale: float = 1.0) -> list[TextDoc]:
        """Step 2: the searches of :meth:`candidate_searches`, merged.

        The fill-up search (every bounded word) is only used when the selective words find
        fewer than ``depth``. When their counts say they find at least that many (one of
        them is in ``depth`` memories or more), it is not sent with them, only after them if
        they did find fewer (counts reused from a few seconds ago can be stale): the same
        candidates, without a search that cost as much Redis time as the first (~7 ms in a
        tenant's 1,000 memories of a 1M store, docs/benchmarks.md, issue-17f)."""
        searches = self.candidate_searches(terms, df, n, scale)
        stems = {word: stem for stem, word in terms.items()}
        later = searches[1:] if len(searches) > 1 and max(
            df.get(stems[w], 0) for w in searches[0][0]) >= depth else []
        now = searches[:1] if later else searches
        results = await self.store.candidates(now, where, depth, self.field_weights)
        if later and len(results[0]) < depth:
            results += await self.store.candidates(later, where, depth, self.field_weights)
        return merge_candidates(results, depth)

    def candidate_searches(self, terms: dict[str, str], df: dict[str, int], n: int,
                           scale: float = 1.0) -> list[CandidateSearch]:
        """The candidate searches of step 2, in order (:meth:`candidates` sends them)."""
        # RediSearch picks the candidates; weighing each word by our IDF makes its order
        # close to ours. Words in most memories (names, say) stay out of that query: they
        # would flood the window with memories that BM25 ranks low anyway. When the
        # selective words find fewer than ``depth``, the window is filled with all words.
        idf = _idf(df, n, terms)
        top = max(idf.values(), default=1.0) or 1.0
        weights = {terms[t]: round(max(scale * idf[t] / top, 0.01), 3) for t in terms}
        p = self.params
        # Only words in at most ``candidate_max_count`` memories fetch candidates (all of
        # them in any scope no larger than that): see ``RankingParams``.
        bounded = [t for t in terms if df.get(t, 0) <= p.candidate_max_count]
        selective = [t for t in bounded if df.get(t, 0) <= p.candidate_max_df * n]
        # The second search only matters when the first finds fewer than ``depth``; unless
        # the counts say the first fills the window, both go in one round trip (see
        # ``candidates``).
        rounds = [selective, bounded] if selective and len(selective) < len(bounded) \
            else [bounded]
        searches: list[CandidateSearch] = [
            ([terms[t] for t in chosen], {terms[t]: weights[terms[t]] for t in chosen})
            for chosen in rounds if chosen]
        if not bounded:  # every word is that common: the memories holding all of them
            searches = [([terms[t] for t in terms], {terms[t]: weights[terms[t]]
                                                     for t in terms}, True)]
        return searches

    @staticmethod
    def _tf(norms: _Norms, stems: Sequence[str]) -> npt.NDArray[np.float64]:
        """Each stem's (weighted) frequency in each candidate: one row per stem."""
        count = len(norms.bags)
        flat = map(dict.get, norms.bags * len(stems),
                   chain.from_iterable(repeat(t, count) for t in stems), repeat(0))
        return np.fromiter(flat, float, count * len(stems)).reshape(len(stems), count)

    def _bm25(self, norms: _Norms, terms: dict[str, str], df: dict[str, int], n: int, *,
              weight: float, tf: npt.NDArray[np.float64] | None = None
              ) -> npt.NDArray[np.float64]:
        """BM25 of every candidate for ``terms``, in ``norms``' order (``tf``: their
        frequencies if already read, see :meth:`_tf`). Computed over arrays, term by
        term: per candidate the same operations in the same order as a loop over the
        terms would do, so the same floats, at a fraction of the interpreter's cost."""
        if not terms or not norms.ids:
            return np.zeros(len(norms.ids))
        idf = _idf(df, n, terms)
        if tf is None:
            tf = self._tf(norms, list(idf))
        weights = np.fromiter(idf.values(), float, len(idf))[:, None]
        parts = np.divide(weights * tf * (self.params.k1 + 1), tf + norms.norm,
                          out=np.zeros_like(tf), where=tf > 0)
        total = parts[0].copy()
        for row in parts[1:]:
            total += row
        if weight != 1.0:
            total *= weight
        return total

    def _phrases(self, scores: npt.NDArray[np.float64], pairs: Sequence[frozenset[tuple[str, str]]],
                 query: dict[str, str], df: dict[str, int], n: int) -> npt.NDArray[np.float64]:
        """Scores plus the phrase bonus (see ``RankingParams.phrase_weight``), for the
        candidates scoring above 0 (``pairs``: each one's stem pairs, in the same order)."""
        stems = list(query)
        idf = _idf(df, n, query)
        wanted = {(a, b): self.params.phrase_weight * (idf[a] + idf[b]) / 2
                  for a, b in zip(stems, stems[1:], strict=False)}
        out = None
        for j, found in enumerate(pairs):
            if found.isdisjoint(wanted):
                continue
            s = float(scores[j])
            bonus = sum(w for pair, w in wanted.items() if pair in found)
            if s and bonus:
                if out is None:
                    out = scores.copy()
                out[j] = s + bonus
        return scores if out is None else out

    def _feedback(self, scores: npt.NDArray[np.float64], ids: list[str],
                  pool: dict[str, TextDoc], query: dict[str, str]) -> dict[str, str]:
        p = self.params
        best = [i for _, i in _best(scores, ids, p.feedback_docs, above=0.0)]
        weights: Counter[str] = Counter()
        surface: dict[str, str] = {}
        for i in best:
            own = _content_words(pool[i].text)
            for stem, word in own:
                weights[stem] += 1.0 / len(own)
                surface.setdefault(stem, word)
        picked = [s for s, _ in sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))
                  if s not in query][: p.feedback_terms]
        return {s: surface[s] for s in picked}


def merge_candidates(results: Sequence[list[TextDoc]], depth: int) -> list[TextDoc]:
    """The candidates of :meth:`LexicalRanker.candidate_searches`' results, in order, each
    once, the later searches only while fewer than ``depth`` were found."""
    found: dict[str, TextDoc] = {}
    for docs in results:
        for doc in docs:
            found.setdefault(doc.memory_id, doc)
        if len(found) >= depth:
            break
    return list(found.values())


def _best(scores: npt.NDArray[np.float64], ids: list[str], k: int, *,
          above: float) -> list[tuple[float, str]]:
    """``sorted((-s, i) for s, i in zip(scores, ids) if s > above)[:k]``: only scores at
    least the ``k``-th highest can be among them, and sorting those few is cheap."""
    values = scores.tolist()
    floor = -math.inf
    if len(values) > k > 0:
        floor = float(np.partition(scores, len(values) - k)[len(values) - k])
    return sorted((-s, i) for s, i in zip(values, ids, strict=True)
                  if s > above and s >= floor)[:k]


def _idf(df: dict[str, int], n: int, terms: dict[str, str]) -> dict[str, float]:
    """Okapi IDF (never negative: the +1 inside the log)."""
    n = max(n, 1)
    return {t: math.log(1 + (n - df.get(t, 0) + 0.5) / (df.get(t, 0) + 0.5)) for t in terms}


def _terms(analyzed: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Distinct stems in order, each with the first word that produced it."""
    out: dict[str, str] = {}
    for stem, word in analyzed:
        if stem not in out:
            out[stem] = word
            if len(out) == MAX_TERMS:
                break
    return out
