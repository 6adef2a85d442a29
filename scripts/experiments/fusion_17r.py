"""issue-17r: variants of the hybrid fusion, on the tuning folds only (docs/search-quality.md, 8).

Writes the tuning memories once (LoCoMo conv-26 as ``--memory-type`` message or episodic,
and the paraphrase pairs), fetches for every tuning query the two lists the server's hybrid
search fetches (``LexicalRanker`` with the hybrid parameters, window 50; KNN, here 150 deep
so that shallower lists are its prefixes), embeds every stored text once more to know any
memory's similarity, and scores the variants of section 8 in Python (shipped fusion, alpha
0.6, no recency). Held-out data are refused: LoCoMo conv-26 only, paraphrase fold 0 only.

    .venv/bin/python scripts/experiments/fusion_17r.py --memory-type message
    .venv/bin/python scripts/experiments/fusion_17r.py --memory-type episodic
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

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
DEEP = 150
TUNING_CONVERSATIONS = {"conv-26"}
TUNING_PARAPHRASE_FOLD = 0
QUESTION = re.compile(
    r"^\s*(?:when|what|where|who|whom|whose|which|why|"
    r"how(?:\s+(?:many|much|long|often|old|far))?)\b"
    r"(?:\s+(?:did|does|do|is|are|was|were|has|have|had|will|would|can|could|should|might))?\s*",
    re.IGNORECASE)


def strip_question(text: str) -> str:
    """The query without its leading question words and question mark (V3)."""
    out = QUESTION.sub("", text).strip().rstrip("?").strip()
    return out or text


class DismaxStore(LexicalStore):
    """V8: candidates picked by DISMAX (term frequency x our IDF weights), which reads no
    index-wide statistics, instead of BM25STD."""

    def _candidate_command(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        cmd = super()._candidate_command(*args, **kwargs)
        return [("DISMAX" if x == "BM25STD" else x) for x in cmd]


class Case:
    """One tuning query: its lists and what the variants need."""

    def __init__(self, fold, relevant, cov, knn, sims, sims_q,  # type: ignore[no-untyped-def]
                 neighbours):
        self.fold = fold
        self.relevant = relevant
        self.cov = cov            # keyword list: id -> coverage (window 50)
        self.knn = knn            # KNN list, DEEP long: [(id, distance)]
        self.sims = sims          # id -> cosine similarity, every memory of the scope
        self.sims_q = sims_q      # the same for the question-stripped query
        self.sims_b = {}          # the same for the blended query vector (V7)
        self.cov8 = {}            # keyword list, candidates by DISMAX (V8)
        self.cov9 = {}            # keyword lists, candidate depth 150 / 200 (V9)
        self.neighbours = neighbours  # id -> (prev id | None, next id | None)


async def collect(args: argparse.Namespace) -> list[Case]:
    settings = Settings(redis_url="redis://unused", embedding_provider=args.embedder,
                        deduplication_distance_threshold=0)
    embedder = create_embedder(settings)
    cases: list[Case] = []
    with temporary_redis(prefix="fusion-17r-") as server:
        redis = Redis.from_url(server.url)
        try:
            settings = settings.model_copy(update={"redis_url": server.url})
            if args.state == "stale":  # no GC pass while the harness runs
                await redis.execute_command("FT.CONFIG", "SET", "FORK_GC_RUN_INTERVAL", 100000)
            store = LongTermStore(redis, settings, embedder.dimensions)
            await store.ensure_index(embedder.model_id)
            svc = LongTermService(store, embedder, settings)
            hybrid = RankingParams(feedback_candidates=False, feedback_counts=False)
            ranker = LexicalRanker(LexicalStore(store), hybrid)  # the server's hybrid list
            dismax = LexicalRanker(DismaxStore(store), hybrid)  # V8
            deeper = {d: LexicalRanker(LexicalStore(store), RankingParams(
                feedback_candidates=False, feedback_counts=False, depth=d))
                for d in (150, 200)}  # V9
            scopes: dict[str, list[dict]] = {}
            jobs = []  # fold, query, relevant, namespace
            rows = read_pairs()
            recs = paraphrase_records(rows, "para")
            scopes["para"] = recs
            jobs += [("para-0", q, {f"m{i}"}, "para") for i, (q, _, _) in enumerate(rows)
                     if i % 3 == TUNING_PARAPHRASE_FOLD]
            for conv in json.loads(DEFAULT_DATA.read_text()):
                sample = conv["sample_id"]
                if sample not in TUNING_CONVERSATIONS:
                    continue  # held out: never loaded here
                namespace, records, ids = conversation_memories(conv, args.memory_type)
                scopes[namespace] = records
                by_dia = defaultdict(set)
                for memory_id, dia in ids.items():
                    by_dia[dia].add(memory_id)
                for qa in conv["qa"]:
                    evidence = {e for e in qa.get("evidence", []) if EVIDENCE.match(e)}
                    if qa.get("category") not in CATEGORIES or not evidence:
                        continue
                    relevant = {m for e in evidence for m in by_dia.get(e, ())}
                    jobs.append((sample, qa["question"], relevant, namespace))
            stored: dict[str, tuple[list[str], np.ndarray, dict]] = {}
            for ns, recs in scopes.items():
                for i in range(0, len(recs), 100):
                    await svc.index_records([ExtractedMemoryRecord(**r) for r in recs[i:i + 100]],
                                            deduplicate=False)
                vecs = np.asarray(await embedder.embed([r["text"] for r in recs]), np.float32)
                vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
                neighbours: dict[str, tuple[str | None, str | None]] = {}
                by_session = defaultdict(list)
                for r in recs:
                    if r.get("session_id"):
                        by_session[r["session_id"]].append(r)
                for turns in by_session.values():
                    turns.sort(key=lambda r: r["created_at"])
                    for j, r in enumerate(turns):
                        neighbours[r["id"]] = (turns[j - 1]["id"] if j else None,
                                               turns[j + 1]["id"] if j + 1 < len(turns) else None)
                stored[ns] = ([r["id"] for r in recs], vecs, neighbours)
            if args.state == "clean":  # a test-only command: drop the re-indexed entries first
                await redis.execute_command("FT.DEBUG", "GC_FORCEINVOKE", store.text_index_name)
            queries = [q for _, q, _, _ in jobs]
            cpu: dict[int, float] = defaultdict(float)  # keyword list CPU by candidate depth
            qv = np.asarray(await embedder.embed(queries), np.float32)
            qs = np.asarray(await embedder.embed([strip_question(q) for q in queries]),
                            np.float32)
            for (fold, text, relevant, ns), v, vs in zip(jobs, qv, qs, strict=True):
                where = Tag("namespace") == ns
                for warm in (ranker, *deeper.values()):  # per-text caches filled for all
                    await warm.search(text, where, WINDOW)
                c0 = time.process_time()
                ranked, _ = await ranker.search(text, where, WINDOW)
                cpu[100] += time.process_time() - c0
                ranked8, _ = await dismax.search(text, where, WINDOW)
                hits, _ = await store.knn(v, where, DEEP)
                ids, vecs, neighbours = stored[ns]
                sims = dict(zip(ids, (vecs @ (v / np.linalg.norm(v))).tolist(), strict=True))
                sims_q = dict(zip(ids, (vecs @ (vs / np.linalg.norm(vs))).tolist(),
                                  strict=True))
                case = Case(fold, relevant, {r.doc.memory_id: r.coverage for r in ranked},
                            [(h.memory_id, h.value) for h in hits], sims, sims_q, neighbours)
                vb = v / np.linalg.norm(v) + vs / np.linalg.norm(vs)
                case.sims_b = dict(zip(ids, (vecs @ (vb / np.linalg.norm(vb))).tolist(),
                                       strict=True))
                case.cov8 = {r.doc.memory_id: r.coverage for r in ranked8}
                for d, deep_ranker in deeper.items():
                    c0 = time.process_time()
                    ranked9, _ = await deep_ranker.search(text, where, WINDOW)
                    cpu[d] += time.process_time() - c0
                    case.cov9[d] = {r.doc.memory_id: r.coverage for r in ranked9}
                cases.append(case)
            print("keyword list CPU per query (this process), by candidate depth: "
                  + ", ".join(f"{d}: {t / len(jobs) * 1e6:.0f} µs" for d, t in sorted(cpu.items())))
        finally:
            await redis.aclose()
    return cases


def _order(scores: dict[str, float]) -> list[str]:
    return sorted(scores, key=lambda i: (-scores[i], i))


def fused(c: Case, *, alpha: float = 0.6, depth: int = WINDOW, exact: bool = False,
          stripped: bool = False, neighbour: float = 0.0, zero_floor: bool = False,
          floor_rank: int = 0, blend: bool = False, dismax: bool = False,
          kw_depth: int = 0) -> list[str]:
    """One variant's ranking of a case (the shipped fusion with every option off)."""
    sims = c.sims_q if stripped else c.sims
    if blend:
        sims = c.sims_b
    if stripped or neighbour or blend:
        def score(i: str) -> float:
            s = sims[i]
            if neighbour:
                p, n = c.neighbours.get(i, (None, None))
                near = max((sims[x] for x in (p, n) if x is not None), default=0.0)
                s = max(s, neighbour * near)
            return s
        every = {i: score(i) for i in sims}
        top = _order(every)[:depth]
        vector = {i: 1.0 - every[i] for i in top}
    else:
        vector = dict(c.knn[:depth])
    full = len(vector) >= depth
    kw = c.cov8 if dismax else c.cov9[kw_depth] if kw_depth else c.cov
    out = fusion.fuse(vector, kw, alpha=alpha, vector_full=full and not zero_floor)
    if floor_rank and full:
        # keyword-only candidates get the similarity listed at rank ``floor_rank``
        rel = sorted((f.vector_similarity for f in out if f.memory_id in vector), reverse=True)
        s_r = rel[floor_rank - 1]
        out = [f if f.memory_id in vector else
               fusion.Fused(f.memory_id, alpha * s_r + (1 - alpha) * f.text_score, s_r,
                            f.text_score) for f in out]
    if exact:
        # keyword-only candidates get their own similarity, relative to the best listed
        best = max(min(max(1.0 - d, 0.0), 1.0) for d in vector.values()) or 1.0
        cov = kw
        out = [f if f.memory_id in vector else
               fusion.Fused(f.memory_id, alpha * max(sims[f.memory_id], 0.0) / best
                            + (1 - alpha) * min(max(cov[f.memory_id], 0.0), 1.0),
                            0.0, 0.0) for f in out]
    return _order({f.memory_id: f.score for f in out})


VARIANTS = {
    "shipped (alpha 0.6, knn 50)": {},
    "V1 knn 100": {"depth": 100},
    "V1 knn 150": {"depth": 150},
    "V2 exact sim for keyword-only": {"exact": True},
    "V3 question words off": {"stripped": True},
    "V4 neighbour g=0.5": {"neighbour": 0.5},
    "V4 neighbour g=0.7": {"neighbour": 0.7},
    "V4 neighbour g=0.85": {"neighbour": 0.85},
    "V5 keyword-only sim 0": {"zero_floor": True},
    "V6 keyword-only at rank 40": {"floor_rank": 40},
    "V6 keyword-only at rank 30": {"floor_rank": 30},
    "V6 keyword-only at rank 20": {"floor_rank": 20},
    "V6 keyword-only at rank 10": {"floor_rank": 10},
    "V7 question words off blended": {"blend": True},
    "V8 candidates by DISMAX": {"dismax": True},
    "V9 keyword depth 150": {"kw_depth": 150},
    "V9 keyword depth 200": {"kw_depth": 200},
}


def recall(cases: list[Case], opts: dict, k: int = 10) -> dict[str, float]:
    per: dict[str, list[float]] = defaultdict(list)
    for c in cases:
        top = set(fused(c, **opts)[:k])
        per[c.fold].append(len(top & c.relevant) / len(c.relevant))
    return {f: sum(x) / len(x) for f, x in sorted(per.items())}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--memory-type", default="message", choices=["message", "episodic"])
    p.add_argument("--embedder", default="minilm")
    p.add_argument("--combine", default="", help="variant names joined by '+', measured together")
    p.add_argument("--state", default="clean", choices=["clean", "stale"],
                   help="clean: RediSearch's GC forced before the queries (exact statistics); "
                        "stale: GC off (re-indexed memories' old entries kept)")
    p.add_argument("--dump", type=Path, help="write the lists to this file (to compare runs)")
    args = p.parse_args()
    cases = asyncio.run(collect(args))
    if args.dump:
        args.dump.write_text(json.dumps([[c.fold, sorted(c.cov.items()), c.knn[:WINDOW],
                                          sorted(c.sims.items())[:5]] for c in cases]))
    chosen = dict(VARIANTS)
    for combo in filter(None, args.combine.split(",")):
        opts: dict = {}
        for name in combo.split("+"):
            opts.update(VARIANTS[name])
        chosen[combo] = opts
    for name, opts in chosen.items():
        r = recall(cases, opts)
        print(f"{name:34s} " + "  ".join(f"{f}={x:.3f}" for f, x in r.items()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
