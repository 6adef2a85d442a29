"""LoCoMo retrieval benchmark through the HTTP API: turn-level evidence recall@10.

Starts its own server (uvicorn subprocess on a free loopback port, against a throw-away
embedded Redis, the default offline embedder unless ``--embedder`` says otherwise), ingests
every turn of each conversation as a long-term memory with ``POST /v1/long-term-memory/``
(one namespace per conversation, one session per LoCoMo session, ``created_at`` from the
session date), asks every question of categories 1-4 with ``POST
/v1/long-term-memory/search`` (namespace filter, limit 10), and prints recall@10 overall and
per category, search p50/p95 and ingest throughput.

    .venv/bin/python scripts/bench_locomo.py
    .venv/bin/python scripts/bench_locomo.py --mode keyword --limit-conversations 1
    # held-out folds (recall per fold), turns stored as episodic memories
    .venv/bin/python scripts/bench_locomo.py --memory-type episodic \
        --fold conv-26 --fold conv-30,conv-41 --fold conv-42,conv-43
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import redis as redis_lib

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent_memory.embedded_redis import free_port, temporary_redis  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "bench" / "locomo-dev.json"
EVIDENCE = re.compile(r"^D\d+:\d+$")
CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop"}
BATCH = 100


def session_date(text: str) -> datetime:
    """``1:56 pm on 8 May, 2023`` as an aware UTC datetime."""
    return datetime.strptime(text.strip(), "%I:%M %p on %d %B, %Y").replace(tzinfo=timezone.utc)


def memory_text(turn: dict, when: str) -> str:
    """What one turn stores: who said it, what was said, a described photo, and when."""
    text = f"{turn['speaker']}: {turn['text']}"
    if turn.get("blip_caption"):
        text += f" [shared a photo: {turn['blip_caption']}]"
    return f"{text} ({when})" if when else text


def conversation_memories(conv: dict, memory_type: str = "message",
                          ) -> tuple[str, list[dict], dict[str, str]]:
    """Namespace, the memory records of every turn, and memory id -> dia_id."""
    sample = conv.get("sample_id") or f"conv-{id(conv)}"
    namespace = f"locomo-{sample}"
    c = conv["conversation"]
    records, ids = [], {}
    n = 1
    while f"session_{n}" in c:
        when = c.get(f"session_{n}_date_time", "")
        start = session_date(when) if when else datetime(2020, 1, 1, tzinfo=timezone.utc)
        for pos, turn in enumerate(c[f"session_{n}"]):
            memory_id = f"{sample}-s{n}-t{pos}"
            ids[memory_id] = turn["dia_id"]
            records.append({
                "id": memory_id,
                "text": memory_text(turn, when),
                "namespace": namespace,
                "session_id": f"{sample}-session-{n}",
                "memory_type": memory_type,
                # One second apart keeps the order of the turns inside a session.
                "created_at": (start + timedelta(seconds=pos)).isoformat(),
                "metadata": {"dia_id": turn["dia_id"], "speaker": turn["speaker"]},
            })
        n += 1
    return namespace, records, ids


def start_server(args: argparse.Namespace, redis_url: str, log_path: Path) -> tuple:
    port = free_port()
    env = dict(os.environ)
    env.update({
        "REDIS_URL": redis_url,
        "EMBEDDING_PROVIDER": args.embedder,
        "USE_DOCKET": "false",
        "LOG_LEVEL": "WARNING",
        "AUTH_MODE": "disabled",
    })
    if args.embedder == "auto":  # measure the offline default, not an endpoint of the shell
        env.pop("OPENAI_API_KEY", None)
        env.pop("OPENAI_API_BASE", None)
    if args.mode != "default":
        env["DEFAULT_SEARCH_MODE"] = args.mode
    log = log_path.open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent_memory", "api", "--port", str(port), "--no-worker"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {log_path.read_text()[-2000:]}")
        try:
            if httpx.get(f"{base}/v1/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.terminate()
    raise SystemExit("server did not start in 60 s")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def collect_garbage(redis_url: str) -> None:
    """Run RediSearch's garbage collector on every index now (``--gc before-queries``): the
    stale entries re-indexed memories leave count in RediSearch's BM25STD statistics, which
    pick the keyword candidates, until a GC pass on RediSearch's own timer drops them
    (docs/search-quality.md, section 8)."""
    r = redis_lib.Redis.from_url(redis_url)
    try:
        for name in r.execute_command("FT._LIST"):
            r.execute_command("FT.DEBUG", "GC_FORCEINVOKE", name)
    finally:
        r.close()


def run(args: argparse.Namespace, http: httpx.Client, data: list[dict],
        redis_url: str = "") -> dict:
    recalls: dict[int, list[float]] = defaultdict(list)
    by_fold: dict[str, list[float]] = defaultdict(list)
    fold_of = {c: fold for fold in args.fold for c in fold.split(",")}
    latencies: list[float] = []
    ingested, ingest_seconds = 0, 0.0
    for conv in data:
        namespace, records, ids = conversation_memories(conv, args.memory_type)
        t0 = time.perf_counter()
        for i in range(0, len(records), BATCH):
            r = http.post("/v1/long-term-memory/",
                          json={"memories": records[i : i + BATCH], "deduplicate": False})
            r.raise_for_status()
        ingest_seconds += time.perf_counter() - t0
        ingested += len(records)
        if args.gc == "before-queries":
            collect_garbage(redis_url)
        for qa in conv["qa"]:
            if qa.get("category") not in CATEGORIES:
                continue
            evidence = {e for e in qa.get("evidence", []) if EVIDENCE.match(e)}
            if not evidence:
                continue
            body: dict = {"text": qa["question"], "namespace": {"eq": namespace}, "limit": 10}
            if args.mode != "default":
                body["search_mode"] = args.mode
            if args.hybrid_alpha is not None:
                body["hybrid_alpha"] = args.hybrid_alpha
            t0 = time.perf_counter()
            r = http.post("/v1/long-term-memory/search", json=body)
            latencies.append((time.perf_counter() - t0) * 1000)
            r.raise_for_status()
            found = {ids.get(m["id"]) for m in r.json()["memories"]}
            recalls[qa["category"]].append(len(evidence & found) / len(evidence))
            by_fold[fold_of.get(conv.get("sample_id", ""), "other")].append(
                len(evidence & found) / len(evidence))
    return {"recalls": recalls, "latencies": latencies, "folds": by_fold,
            "ingested": ingested, "ingest_seconds": ingest_seconds}


def report(args: argparse.Namespace, out: dict, n_convs: int) -> None:
    allr = [x for xs in out["recalls"].values() for x in xs]
    lat = out["latencies"]
    print(f"LoCoMo dev: {n_convs} conversations, {out['ingested']} turns, {len(allr)} questions"
          f" (categories 1-4), mode={args.mode}, embedder={args.embedder},"
          f" stored as {args.memory_type}, gc={args.gc}"
          + (f", hybrid_alpha={args.hybrid_alpha}" if args.hybrid_alpha is not None else ""))
    print(f"recall@10 overall: {statistics.fmean(allr):.4f}")
    for cat, name in CATEGORIES.items():
        xs = out["recalls"].get(cat, [])
        if xs:
            print(f"  category {cat} ({name:11s}): {statistics.fmean(xs):.3f}  (n={len(xs)})")
    if args.fold:
        for fold, xs in out["folds"].items():
            print(f"  fold {fold}: {statistics.fmean(xs):.4f}  (n={len(xs)})")
    print(f"search latency ms: p50 {pct(lat, 0.5):.1f}  p95 {pct(lat, 0.95):.1f}"
          f"  (n={len(lat)})")
    print(f"ingest: {out['ingested'] / out['ingest_seconds']:.0f} memories/s"
          f" ({out['ingested']} in {out['ingest_seconds']:.1f} s, batches of {BATCH},"
          " embedding included)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="LoCoMo turn-level evidence recall@10 via HTTP.")
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--mode", choices=["semantic", "keyword", "hybrid", "default"],
                   default="default", help="search_mode sent (default: server's default)")
    p.add_argument("--embedder", default="auto",
                   help="EMBEDDING_PROVIDER of the server (auto: the offline default)")
    p.add_argument("--limit-conversations", type=int, default=None)
    p.add_argument("--fold", action="append", default=[],
                   help="comma-separated sample ids of one fold (repeat): only these "
                   "conversations run, recall is printed per fold too")
    p.add_argument("--memory-type", default="message", choices=["message", "episodic"],
                   help="memory_type each turn is stored as")
    p.add_argument("--hybrid-alpha", type=float, default=None,
                   help="hybrid_alpha sent (vector weight; default: the API's 0.7)")
    p.add_argument("--gc", default="timer", choices=["timer", "off", "before-queries"],
                   help="RediSearch's garbage collection: on its own timer (as deployed), "
                   "off, or forced after each conversation's ingest")
    args = p.parse_args(argv)
    data = json.loads(args.data.read_text())[: args.limit_conversations]
    if args.fold:
        wanted = {c for fold in args.fold for c in fold.split(",")}
        data = [c for c in data if c.get("sample_id") in wanted]
    with temporary_redis(prefix="bench-locomo-") as redis:
        proc = None
        try:
            if args.gc == "off":
                r = redis_lib.Redis.from_url(redis.url)
                r.execute_command("FT.CONFIG", "SET", "FORK_GC_RUN_INTERVAL", 100000)
                r.close()
            proc, base = start_server(args, redis.url, redis.data_dir / "server.log")
            with httpx.Client(base_url=base, timeout=120) as http:
                out = run(args, http, data, redis.url)
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=20)
    report(args, out, len(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
