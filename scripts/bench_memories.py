"""Memories-door benchmark: adds/s with offline enrichment, recall vs the AMS search route.

Starts an embedded Redis and the API (``agent-memory api``, hashing embedder, 384 dims, no
model: enrichment runs as rules inline) in a child process, then over loopback HTTP:

1. ``POST /v1/memories`` (the seed's rich body, varied): adds/s with 1 client and with
   ``--clients`` concurrent clients;
2. fills the index to ``--size`` rows (records written straight through ``LongTermStore``,
   shaped exactly like the door's rows: user, tags, source, tier, importance), then times,
   one request at a time with the same queries:
   - ``POST /v1/memories/recall`` (k=10, default weights) for one user,
   - ``POST /v1/long-term-memory/search`` (semantic, limit 10) for the same user,
   - both again without the user filter,
   and prints p50/p95 and the difference.

The machine is shared with other work: quote medians, and expect noise.

    .venv/bin/python scripts/bench_memories.py [--size 100000] [--adds 2000] [--runs 300]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from redis.asyncio import Redis  # noqa: E402

from agent_memory.embedded_redis import temporary_redis  # noqa: E402
from agent_memory.embeddings import HashingEmbedder  # noqa: E402
from agent_memory.models._types import from_epoch  # noqa: E402
from agent_memory.models.records import MemoryRecord, MemoryTypeEnum  # noqa: E402
from agent_memory.services.enrichment import by_rules  # noqa: E402
from agent_memory.settings import Settings  # noqa: E402
from agent_memory.storage.long_term import LongTermStore  # noqa: E402
from scripts._bench.harness import api_process, report  # noqa: E402
from scripts._bench.http import Connection  # noqa: E402

WORDS = ("budget approved infrastructure upgrade invoice meeting roadmap decision hiring "
         "vendor contract renewal security audit launch customer feedback travel paris "
         "office lease quarterly revenue forecast design review migration database backup "
         "incident outage postmortem training onboarding laptop policy holiday schedule "
         "marketing campaign pricing discount partner integration api release").split()
SOURCES = ("email", "slack", "meeting", "document")
TAGS = ("budget", "urgent", "finance", "ops", "hr", "legal", "product", "eng")
USERS = [f"user{i}" for i in range(100)]


def _body(rng: random.Random, i: int) -> dict[str, Any]:
    return {"text": f"{' '.join(rng.sample(WORDS, 8)).capitalize()}. Note {i}.",
            "user_id": rng.choice(USERS), "source": rng.choice(SOURCES),
            "event_type": "financial_decision", "tags": rng.sample(TAGS, 2),
            "importance": round(rng.random(), 2), "metadata": {"department": "finance"},
            "ttl_minutes": 10080}


def _ams_body(rng: random.Random, i: int) -> dict[str, Any]:
    body = _body(rng, i)
    return {"memories": [{"text": body["text"], "user_id": body["user_id"],
                          "topics": body["tags"]}], "deduplicate": False}


async def _adds(host: str, port: int, clients: int, per_client: int, seed: int,
                ams: bool = False) -> float:
    """Adds/s over ``clients`` concurrent connections (``ams``: the AMS create route with
    one memory per request, for reference)."""
    conns = [Connection(host, port) for _ in range(clients)]

    async def run(conn: Connection, rng: random.Random, base: int) -> None:
        for i in range(per_client):
            if ams:
                status, raw = await conn.request("POST", "/v1/long-term-memory/",
                                                 _ams_body(rng, base + i))
                assert status == 200, raw[:300]
            else:
                status, raw = await conn.request("POST", "/v1/memories", _body(rng, base + i))
                assert status == 201, raw[:300]

    t0 = time.perf_counter()
    await asyncio.gather(*(run(c, random.Random(seed + n), n * per_client)
                           for n, c in enumerate(conns)))
    elapsed = time.perf_counter() - t0
    for c in conns:
        await c.close()
    return clients * per_client / elapsed


async def _fill(store: LongTermStore, embedder: HashingEmbedder, target: int,
                rng: random.Random) -> None:
    """Write rows shaped like the door's until the index holds ``target``."""
    have = await store.count(None)
    now = time.time()
    batch = 1000
    for start in range(have, target, batch):
        records = []
        for i in range(start, min(start + batch, target)):
            body = _body(rng, i)
            at = from_epoch(now - rng.random() * 30 * 86400)
            records.append(MemoryRecord(
                id=f"{10_000_000 + i}", text=body["text"], user_id=body["user_id"],
                created_at=at, updated_at=at, last_accessed=at,
                memory_type=MemoryTypeEnum.semantic, discrete_memory_extracted="t",
                metadata=body["metadata"], tags=body["tags"], source=body["source"],
                event_type=body["event_type"], tier="hot", importance=body["importance"],
                enrichment=by_rules(body["text"], event_type=body["event_type"],
                                    importance=body["importance"]).fields()))
        vectors = await embedder.embed([r.text for r in records])
        await store.write(records, vectors, replacing=[False] * len(records))
    while await store.count(None) < target:  # indexing catches up
        await asyncio.sleep(0.5)


async def _timed(conn: Connection, path: str, bodies: list[dict[str, Any]]) -> list[float]:
    out = []
    for body in bodies:
        t = time.perf_counter()
        status, raw = await conn.request("POST", path, body)
        out.append(time.perf_counter() - t)
        assert status == 200, raw[:300]
    return out


async def main(args: argparse.Namespace) -> None:
    rng = random.Random(11)
    with temporary_redis(persistent=False) as redis_server, api_process(
            redis_server.url, REDISVL_VECTOR_DIMENSIONS="384") as url:
        host, port = url.removeprefix("http://").split(":")
        print("== POST /v1/memories (rich body, offline rules enrichment inline) ==")
        warm = await _adds(host, int(port), 1, 200, 1)
        one = await _adds(host, int(port), 1, args.adds, 2)
        many = await _adds(host, int(port), args.clients, args.adds // args.clients, 3)
        ams_one = await _adds(host, int(port), 1, args.adds // 2, 4, ams=True)
        ams_many = await _adds(host, int(port), args.clients, args.adds // args.clients, 5,
                               ams=True)
        print(f"adds/s, 1 client: {one:8.0f}   (warm-up run: {warm:.0f})")
        print(f"adds/s, {args.clients} clients: {many:8.0f}")
        print(f"reference, AMS create of 1 memory per request (dedup off): 1 client "
              f"{ams_one:.0f}/s, {args.clients} clients {ams_many:.0f}/s")

        redis = Redis.from_url(redis_server.url)
        settings = Settings(redis_url=redis_server.url, embedding_provider="hashing")
        store = LongTermStore(redis, settings, 384)
        embedder = HashingEmbedder(384)
        t0 = time.perf_counter()
        await _fill(store, embedder, args.size, rng)
        print(f"\nfilled to {await store.count(None):,} rows in {time.perf_counter() - t0:.0f} s")

        conn = Connection(host, int(port))
        queries = [" ".join(rng.sample(WORDS, 4)) for _ in range(args.runs)]
        users = [rng.choice(USERS) for _ in range(args.runs)]
        plans = {
            "one user": (
                [{"query": q, "k": 10, "user_id": u} for q, u in zip(queries, users)],
                [{"text": q, "search_mode": "semantic", "limit": 10, "user_id": {"eq": u}}
                 for q, u in zip(queries, users)]),
            "all users": (
                [{"query": q, "k": 10} for q in queries],
                [{"text": q, "search_mode": "semantic", "limit": 10} for q in queries]),
        }
        for label, (recalls, searches) in plans.items():
            print(f"\n== {args.size:,} rows, {label} ==")
            await _timed(conn, "/v1/memories/recall", recalls[:30])  # warm-up
            await _timed(conn, "/v1/long-term-memory/search", searches[:30])
            recall = report("recall k=10", await _timed(conn, "/v1/memories/recall", recalls))
            search = report("AMS search semantic limit=10",
                            await _timed(conn, "/v1/long-term-memory/search", searches))
            print(f"  -> recall - search: p50 {recall['p50_ms'] - search['p50_ms']:+.3f} ms, "
                  f"p95 {recall['p95_ms'] - search['p95_ms']:+.3f} ms")
        await conn.close()
        await redis.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--adds", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--runs", type=int, default=300)
    asyncio.run(main(parser.parse_args()))
