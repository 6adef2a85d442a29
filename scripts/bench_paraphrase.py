"""Paraphrase retrieval through the HTTP API: recall@10 when query and memory share no word.

Data: scripts/data/paraphrase_pairs.tsv, written for this project (shippable): each row is a
question an agent might ask, the memory that answers it (no content word in common, after
stemming and stopwords) and a distractor that shares a word with the question but not its
meaning. Every memory and distractor (2 per row) is stored in one namespace; each question
is searched with the server's default mode unless ``--mode`` says otherwise; a hit is its
memory among the top 10. Folds: row number mod 3 (fold 0 was used to choose the default
fusion weight, folds 1 and 2 are held out).

    .venv/bin/python scripts/bench_paraphrase.py
    .venv/bin/python scripts/bench_paraphrase.py --mode keyword
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_locomo import pct, start_server  # noqa: E402

from agent_memory.embedded_redis import temporary_redis  # noqa: E402

PAIRS = ROOT / "scripts" / "data" / "paraphrase_pairs.tsv"
FOLDS = 3


def read_pairs(path: Path = PAIRS) -> list[tuple[str, str, str]]:
    """``(query, memory, distractor)`` rows of the paraphrase set."""
    rows = []
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            q, m, d = line.split("\t")
            rows.append((q, m, d))
    return rows


def records(rows: list[tuple[str, str, str]], namespace: str) -> list[dict]:
    """The stored memories: ``m<i>`` answers row i, ``d<i>`` is its distractor."""
    out = []
    for i, (_, memory, distractor) in enumerate(rows):
        for kind, text in (("m", memory), ("d", distractor)):
            out.append({"id": f"{kind}{i}", "text": text, "namespace": namespace,
                        "memory_type": "semantic"})
    return out


def run(args: argparse.Namespace, http: httpx.Client, rows: list[tuple[str, str, str]]) -> None:
    mems = records(rows, "para")
    for i in range(0, len(mems), 100):
        http.post("/v1/long-term-memory/", json={"memories": mems[i:i + 100],
                                                 "deduplicate": False}).raise_for_status()
    hits: dict[int, list[float]] = defaultdict(list)
    latencies = []
    for i, (query, _, _) in enumerate(rows):
        body: dict = {"text": query, "namespace": {"eq": "para"}, "limit": 10}
        if args.mode != "default":
            body["search_mode"] = args.mode
        t0 = time.perf_counter()
        r = http.post("/v1/long-term-memory/search", json=body)
        latencies.append((time.perf_counter() - t0) * 1000)
        r.raise_for_status()
        found = [m["id"] for m in r.json()["memories"]]
        hits[i % FOLDS].append(1.0 if f"m{i}" in found else 0.0)
    allh = [x for xs in hits.values() for x in xs]
    print(f"paraphrase pairs: {len(rows)} questions, {len(mems)} memories, mode={args.mode},"
          f" embedder={args.embedder}")
    print(f"recall@10 overall: {statistics.fmean(allh):.3f}")
    for fold in sorted(hits):
        role = "tuning" if fold == 0 else "held out"
        print(f"  fold {fold} ({role}): {statistics.fmean(hits[fold]):.3f}"
              f"  (n={len(hits[fold])})")
    print(f"search latency ms: p50 {pct(latencies, 0.5):.1f}  p95 {pct(latencies, 0.95):.1f}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=PAIRS)
    p.add_argument("--mode", choices=["semantic", "keyword", "hybrid", "default"],
                   default="default", help="search_mode sent (default: server's default)")
    p.add_argument("--embedder", default="auto",
                   help="EMBEDDING_PROVIDER of the server (auto: the offline default)")
    args = p.parse_args(argv)
    args.hybrid_alpha = None  # start_server reads only mode and embedder
    rows = read_pairs(args.data)
    with temporary_redis(prefix="bench-para-") as redis:
        proc = None
        try:
            proc, base = start_server(args, redis.url, redis.data_dir / "server.log")
            with httpx.Client(base_url=base, timeout=120) as http:
                run(args, http, rows)
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
