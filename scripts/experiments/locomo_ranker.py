"""LoCoMo recall@10 of the server's own lexical ranking, called directly (no HTTP).

Same memories as scripts/bench_locomo.py (written by LongTermService, linked by
session_context), ranked by services/ranking.LexicalRanker with the given parameters, so
ranking parameters can be swept in seconds against the real RediSearch.

    .venv/bin/python scripts/experiments/locomo_ranker.py --set b=0.75 --set feedback_docs=0
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_locomo import CATEGORIES, DEFAULT_DATA, EVIDENCE, conversation_memories  # noqa: E402
from redis.asyncio import Redis  # noqa: E402
from redisvl.query.filter import Tag  # noqa: E402

from agent_memory.embedded_redis import temporary_redis  # noqa: E402
from agent_memory.embeddings import HashingEmbedder  # noqa: E402
from agent_memory.models.long_term import ExtractedMemoryRecord  # noqa: E402
from agent_memory.services.long_term import LongTermService  # noqa: E402
from agent_memory.services.ranking import LexicalRanker, RankingParams  # noqa: E402
from agent_memory.services.session_context import link_sessions  # noqa: E402
from agent_memory.settings import Settings  # noqa: E402
from agent_memory.storage.lexical import LexicalStore  # noqa: E402
from agent_memory.storage.long_term import LongTermStore  # noqa: E402


def parse_sets(pairs: list[str]) -> list[RankingParams]:
    """Each ``--set`` is ``field=v1,v2,...``; the cartesian product is swept."""
    grid = [RankingParams()]
    for pair in pairs:
        name, values = pair.split("=", 1)
        kind = type(getattr(RankingParams(), name))
        if kind is frozenset:  # field=a+b+c,x+y: sets of words
            grid = [dataclasses.replace(p, **{name: frozenset(v.split("+")) - {""}})
                    for p in grid for v in values.split(",")]
            continue
        grid = [dataclasses.replace(p, **{name: kind(v)}) for p in grid for v in values.split(",")]
    return grid


async def main_async(args: argparse.Namespace) -> None:
    data = json.loads(args.data.read_text())[: args.limit_conversations]
    if args.conversations:  # a fold of a cross-check: only these sample ids
        data = [c for c in data if c.get("sample_id") in set(args.conversations.split(","))]
    with temporary_redis() as server:
        redis = Redis.from_url(server.url)
        try:
            settings = Settings(redis_url=server.url, deduplication_distance_threshold=0)
            store = LongTermStore(redis, settings, 32)
            await store.ensure_index("hashing-v1-32")
            svc = LongTermService(store, HashingEmbedder(32), settings)
            lexical = LexicalStore(store)
            convs = []
            for conv in data:
                namespace, records, ids = conversation_memories(conv)
                for i in range(0, len(records), 100):
                    batch = [ExtractedMemoryRecord(**r) for r in records[i : i + 100]]
                    await svc.index_records(batch, deduplicate=False)
                    await link_sessions(lexical, batch)
                convs.append((conv, namespace, ids))
            for params in parse_sets(args.set):
                ranker = LexicalRanker(lexical, params)
                recalls: dict[int, list[float]] = defaultdict(list)
                took: list[float] = []
                for conv, namespace, ids in convs:
                    for qa in conv["qa"]:
                        evidence = {e for e in qa.get("evidence", []) if EVIDENCE.match(e)}
                        if qa.get("category") not in CATEGORIES or not evidence:
                            continue
                        t0 = time.perf_counter()
                        ranked, _ = await ranker.search(qa["question"],
                                                        Tag("namespace") == namespace, 10)
                        took.append((time.perf_counter() - t0) * 1000)
                        found = {ids.get(r.doc.memory_id) for r in ranked[:10]}
                        recalls[qa["category"]].append(len(evidence & found) / len(evidence))
                allr = [x for xs in recalls.values() for x in xs]
                cats = " ".join(f"c{c}={sum(xs) / len(xs):.3f}"
                                for c, xs in sorted(recalls.items()))
                changed = {f.name: getattr(params, f.name) for f in dataclasses.fields(params)
                           if getattr(params, f.name) != getattr(RankingParams(), f.name)}
                took.sort()
                print(f"{changed or 'defaults'}  recall@10={sum(allr) / len(allr):.3f}  {cats}"
                      f"  p50 {took[len(took) // 2]:.1f} ms"
                      f" p95 {took[int(len(took) * .95)]:.1f} ms",
                      flush=True)
        finally:
            await redis.aclose()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--limit-conversations", type=int, default=None)
    p.add_argument("--conversations", default="",
                   help="comma-separated sample ids (e.g. conv-26,conv-30,conv-41): one fold")
    p.add_argument("--set", action="append", default=[], help="param=v1,v2 (swept)")
    asyncio.run(main_async(p.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
