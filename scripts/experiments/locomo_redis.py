"""LoCoMo search experiments on the real engine: RediSearch BM25 through RedisVL, no server.

Checks that what wins in the pure-python harness (locomo_offline.py) survives RediSearch's
own tokenizer, stemmer and BM25STD: neighbour-context fields with query-time field weights,
and pseudo-relevance feedback (expansion words with query-time word weights).

    .venv/bin/python scripts/experiments/locomo_redis.py
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from locomo_offline import EVIDENCE, load, render, turns_of  # noqa: E402
from redis.asyncio import Redis  # noqa: E402
from redisvl.index import AsyncSearchIndex  # noqa: E402
from redisvl.query import TextQuery  # noqa: E402
from redisvl.query.filter import Tag  # noqa: E402

from agent_memory.embedded_redis import temporary_redis  # noqa: E402
from agent_memory.services.text_query import query_terms, stopwords  # noqa: E402

SCHEMA = {
    "index": {"name": "exp", "prefix": "exp", "storage_type": "hash"},
    "fields": [
        {"name": "text", "type": "text"},
        {"name": "ctx_prev", "type": "text"},
        {"name": "ctx_next", "type": "text"},
        {"name": "stext", "type": "text", "attrs": {"no_stem": True}},
        {"name": "sprev", "type": "text", "attrs": {"no_stem": True}},
        {"name": "snext", "type": "text", "attrs": {"no_stem": True}},
        {"name": "ns", "type": "tag"},
        {"name": "dia", "type": "tag"},
    ],
}
SCORER = "BM25STD"
CTX = True
STEMMED = False
_STEMMER = None


def stem_words(words: list[str]) -> list[str]:
    global _STEMMER
    if _STEMMER is None:
        import snowballstemmer

        _STEMMER = snowballstemmer.stemmer("english")
    return _STEMMER.stemWords(words)


def stem_text(text: str) -> str:
    """Our own analysis: words, no stopwords, Snowball stems (indexed with NOSTEM)."""
    return " ".join(stem_words(query_terms_all(text)))


def query_terms_all(text: str) -> list[str]:
    stop = stopwords()
    words = WORD.findall(text.lower().replace("'s ", " "))
    return [w for w in words if w not in stop and len(w) > 1]
WORD = re.compile(r"[^\W_]+", re.UNICODE)


async def load_index(index: AsyncSearchIndex, data: list[dict], how: str) -> None:
    docs = []
    for conv in data:
        turns = turns_of(conv)
        texts = [render(t, how) for t in turns]
        for i, t in enumerate(turns):
            prev = texts[i - 1] if i > 0 and turns[i - 1]["session"] == t["session"] else ""
            nxt = (texts[i + 1] if i + 1 < len(turns) and turns[i + 1]["session"] == t["session"]
                   else "")
            doc = {"key": f"{conv['sample_id']}:{t['dia_id']}", "text": texts[i],
                   "ns": conv["sample_id"], "dia": t["dia_id"]}
            if CTX:
                doc.update({"ctx_prev": prev, "ctx_next": nxt})
            if STEMMED:
                doc.update({"stext": stem_text(texts[i]), "sprev": stem_text(prev),
                            "snext": stem_text(nxt)})
            docs.append(doc)
    await index.load(docs, id_field="key")


def terms_order(terms: list[str]):
    return lambda w: 0


def feedback_terms(texts: list[str], query: list[str], n: int) -> list[str]:
    stop = stopwords()
    fb: Counter = Counter()
    for text in texts:
        words = [w for w in WORD.findall(text.lower()) if w not in stop and len(w) > 1]
        for w, f in Counter(words).items():
            fb[w] += f / max(len(words), 1)
    return [w for w, _ in fb.most_common(n + len(query)) if w not in query][:n]


async def run(index: AsyncSearchIndex, data: list[dict], fields: dict[str, float],
              prf: tuple[int, int, float] | None) -> dict[str, float]:
    per_cat: dict[int, list[float]] = defaultdict(list)
    for conv in data:
        ns = Tag("ns") == conv["sample_id"]
        for qa in conv["qa"]:
            if qa["category"] not in (1, 2, 3, 4):
                continue
            ev = {e for e in qa["evidence"] if EVIDENCE.match(e)}
            terms = query_terms(qa["question"])
            if "stext" in fields:
                terms = sorted(set(stem_words(terms)), key=terms_order(terms))
            if not ev or not terms:
                continue
            q = TextQuery(" ".join(terms), fields, filter_expression=ns, num_results=10,
                          return_fields=["dia", "text"], stopwords=None, text_scorer=SCORER)
            res = await index.query(q)
            if prf:
                ndocs, nterms, weight = prf
                extra = feedback_terms([d["text"] for d in res[:ndocs]], terms, nterms)
                if extra:
                    q = TextQuery(" ".join(terms + extra), fields, filter_expression=ns,
                                  num_results=10, return_fields=["dia", "text"], stopwords=None,
                                  text_weights={w: weight for w in extra}, text_scorer=SCORER)
                    res = await index.query(q)
            found = {d["dia"] for d in res}
            per_cat[qa["category"]].append(len(ev & found) / len(ev))
    allv = [x for xs in per_cat.values() for x in xs]
    out = {"all": sum(allv) / len(allv)}
    out.update({f"c{c}": sum(xs) / len(xs) for c, xs in sorted(per_cat.items())})
    return out


async def main_async(args: argparse.Namespace) -> None:
    data = load()
    with temporary_redis() as server:
        redis = Redis.from_url(server.url)
        index = AsyncSearchIndex.from_dict(SCHEMA, redis_client=redis)
        await index.create(overwrite=True, drop=True)
        await load_index(index, data, args.text)
        await asyncio.sleep(1)
        if STEMMED:
            variants = [
                ("stemmed only", {"stext": 1.0}, None),
                ("stemmed ctx 0.5/0.3", {"stext": 1.0, "sprev": 0.5, "snext": 0.3}, None),
                ("stemmed ctx 0.5/0.5", {"stext": 1.0, "sprev": 0.5, "snext": 0.5}, None),
            ]
        else:
          variants = [
            ("text only", {"text": 1.0}, None),
            ("ctx prev 0.5 next 0.3", {"text": 1.0, "ctx_prev": 0.5, "ctx_next": 0.3}, None),
            ("ctx prev 0.4 next 0.4", {"text": 1.0, "ctx_prev": 0.4, "ctx_next": 0.4}, None),
            ("ctx 0.5/0.3 + prf 5x5 w0.2", {"text": 1.0, "ctx_prev": 0.5, "ctx_next": 0.3},
             (5, 5, 0.2)),
            ("ctx 0.5/0.3 + prf 5x10 w0.3", {"text": 1.0, "ctx_prev": 0.5, "ctx_next": 0.3},
             (5, 10, 0.3)),
        ]
        for name, fields, prf in variants:
            r = await run(index, data, fields, prf)
            cats = " ".join(f"{k}={v:.3f}" for k, v in r.items() if k != "all")
            print(f"{args.text:13s} {name:32s} recall@10={r['all']:.3f}  {cats}", flush=True)
        await redis.aclose()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--text", default="speaker_date", help="plain | speaker | speaker_date")
    p.add_argument("--scorer", default="BM25STD", help="RediSearch scorer")
    p.add_argument("--no-ctx", action="store_true", help="index without context fields")
    p.add_argument("--stemmed", action="store_true", help="our own stems, NOSTEM fields")
    args = p.parse_args()
    global SCORER, CTX, STEMMED
    SCORER, CTX, STEMMED = args.scorer, not args.no_ctx, args.stemmed
    asyncio.run(main_async(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
