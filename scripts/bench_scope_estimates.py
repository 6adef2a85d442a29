"""How much the sampled estimates of word counts in a large filtered scope change the
default (hybrid) search's first page, against a searcher that counts every word.

Runs against a store filled by ``scripts/load_million.py`` (``--redis-url``, read-only for
the first part): tenant queries (one user of one namespace, 1,000 memories each at 1M)
of four words of that script's vocabulary, top ``--limit`` compared; with
``--namespaces``, whole namespaces too (10,000 memories: larger than the sample). Then, with
``--skewed``, it writes a tenant whose vocabulary differs from the store's (a few store
words in most of its memories, most of them in few, and words the store never uses),
compares again on it, and deletes it (the store's size is back to what it was).

    .venv/bin/python scripts/bench_scope_estimates.py --redis-url redis://127.0.0.1:6917/0 \\
        --users 30 --queries 10 --namespaces 10 --skewed 2000
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import statistics
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from redis.asyncio import Redis  # noqa: E402

from agent_memory.embeddings import HashingEmbedder  # noqa: E402
from agent_memory.models.long_term import SearchRequest  # noqa: E402
from agent_memory.models.records import MemoryRecord  # noqa: E402
from agent_memory.services.dedup import memory_hash  # noqa: E402
from agent_memory.services.ltm_search import Searcher  # noqa: E402
from agent_memory.settings import Settings  # noqa: E402
from agent_memory.storage.filters import and_all, tag_in  # noqa: E402
from agent_memory.storage.long_term import LongTermStore  # noqa: E402
from scripts.load_million import WORDS  # noqa: E402

# Words the 1M store never uses, for the skewed tenant.
OWN = ("kayak sourdough kiln glaze ferment espresso marathon compost seedling trellis "
       "pottery lathe chisel dovetail varnish sawdust workshop clamp plane veneer").split()


def _where(namespace: str, user: str | None):  # type: ignore[no-untyped-def]
    users = [tag_in("user_id", [user])] if user else []
    return and_all([tag_in("namespace", [namespace]), *users])


async def _compare(estimated: Searcher, exact: Searcher,
                   scopes: list[tuple[str, str | None]],
                   queries: list[str], limit: int) -> dict[str, float]:
    overlap, same_order, same_first, same_total, same_scores = [], 0, 0, 0, 0
    for namespace, user in scopes:
        where = _where(namespace, user)
        # the first search of a scope counts in both (its size is not known yet), and so
        # does the estimating searcher's second (the scope's first wish for a sample)
        for searcher in (estimated, exact):
            await searcher.search(where, SearchRequest(text=queries[0], limit=limit))
        for text in queries:
            request = SearchRequest(text=text, limit=limit)
            got = await estimated.search(where, request)
            want = await exact.search(where, request)
            a, b = [m.id for m in got.memories], [m.id for m in want.memories]
            overlap.append(len(set(a) & set(b)) / max(len(b), 1))
            same_order += a == b
            same_first += a[:1] == b[:1]
            same_total += got.total == want.total
            same_scores += len(a) == len(b) and all(  # to float rounding (recency's clock)
                math.isclose(x.score, y.score, rel_tol=1e-9)
                for x, y in zip(got.memories, want.memories, strict=True))
    n = len(overlap)
    return {"queries": n, "top_overlap_mean": statistics.fmean(overlap),
            "top_overlap_min": min(overlap), "same_order": same_order / n,
            "same_first": same_first / n, "same_total": same_total / n,
            "same_scores": same_scores / n}


def _skewed_records(rng: random.Random, count: int) -> list[MemoryRecord]:
    shared = WORDS[:20]
    vocab = shared + OWN
    # Zipf-like weights, the store's words spread from the most to the least used
    weights = [1.0 / (rank + 1) for rank in range(len(vocab))]
    rng.shuffle(weights)
    base = datetime(2024, 6, 1, tzinfo=UTC)
    out = []
    for i in range(count):
        words: list[str] = []
        while len(words) < 8:
            word = rng.choices(vocab, weights)[0]
            if word not in words:
                words.append(word)
        r = MemoryRecord(id=f"skew{i:06d}", text=" ".join(words) + f" #{i}",
                         namespace="skewns", user_id="skewuser", memory_type="semantic",
                         created_at=base + timedelta(seconds=i * 11.0), last_accessed=base)
        r.memory_hash = memory_hash(r)
        out.append(r)
    return out


async def run(args: argparse.Namespace) -> None:
    redis = Redis.from_url(args.redis_url)
    settings = Settings(redis_url=args.redis_url, embedding_provider="hashing")
    embedder = HashingEmbedder(384)
    store = LongTermStore(redis, settings, 384)
    estimated = Searcher(store, embedder, "hybrid")
    exact = Searcher(store, embedder, "hybrid")
    exact.sample.min_store = 10**12  # never estimates: every word counted
    rng = random.Random(17)
    users = rng.sample(range(1000), args.users)
    scopes = [(f"ns{u % 100}", f"user{u}") for u in users]
    queries = [" ".join(rng.sample(WORDS, 4)) for _ in range(args.queries)]
    print("tenants of the 1M store:", await _compare(estimated, exact, scopes, queries,
                                                      args.limit))
    if args.namespaces:  # 10,000 memories each at 1M: larger than the sample
        spaces = [(f"ns{t}", None) for t in rng.sample(range(100), args.namespaces)]
        print("namespaces of the 1M store:", await _compare(estimated, exact, spaces,
                                                            queries, args.limit))
    if args.skewed:
        records = _skewed_records(rng, args.skewed)
        vectors = await embedder.embed([r.text for r in records])
        await store.write(records, vectors, replacing=[False] * len(records))
        try:
            vocab = WORDS[:20] + OWN
            skewed_queries = [" ".join(rng.sample(vocab, 4))
                              for _ in range(args.users * args.queries)]
            print("skewed tenant:", await _compare(estimated, exact, [("skewns", "skewuser")],
                                                   skewed_queries, args.limit))
        finally:
            await redis.delete(*[store.key(r.id) for r in records])
    await redis.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--users", type=int, default=30)
    parser.add_argument("--queries", type=int, default=10, help="per user")
    parser.add_argument("--limit", type=int, default=10)
    parser.add_argument("--namespaces", type=int, default=0,
                        help="namespace-wide scopes compared too (beyond the sample's size)")
    parser.add_argument("--skewed", type=int, default=0,
                        help="memories of a tenant with its own vocabulary (0: none)")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
