"""Fill the long-term store with many memories and report memory use and search latency.

Writes straight through the storage layer (``LongTermStore.write``, pipelined, hashing
embedder at 384 dims) in big batches into a fresh embedded Redis (or ``--redis-url``,
which must be an empty database: it is flushed), then reports Redis memory, index sizes and
search p50/p95 through the service (semantic, keyword, hybrid; with and without a tenant
filter), as the API would run them minus HTTP (with the API process's garbage-collector
settings unless ``--default-gc``).

    .venv/bin/python scripts/load_million.py --count 50000     # quick run
    .venv/bin/python scripts/load_million.py                   # the full 1M

With ``--redis-url URL --reuse`` a database this script filled before (same ``--count``,
``--tenants``) is searched again without a second fill (a 1M fill takes ~15 minutes); any
other database is refused rather than flushed.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from redis.asyncio import Redis  # noqa: E402

from agent_memory.embeddings import HashingEmbedder  # noqa: E402
from agent_memory.gc_tuning import tune_for_serving  # noqa: E402
from agent_memory.models.long_term import SearchRequest  # noqa: E402
from agent_memory.models.records import MemoryRecord  # noqa: E402
from agent_memory.principal import LOCAL_ADMIN  # noqa: E402
from agent_memory.services.dedup import memory_hash  # noqa: E402
from agent_memory.services.long_term import LongTermService  # noqa: E402
from agent_memory.settings import Settings  # noqa: E402
from agent_memory.storage.long_term import LongTermStore  # noqa: E402
from agent_memory.embedded_redis import temporary_redis  # noqa: E402
from scripts._bench.harness import percentile  # noqa: E402

WORDS = ("alice bob carol dave erin frank coffee tea garden travel paris rome tokyo music "
         "piano guitar dog cat birthday meeting project deadline doctor dentist school exam movie "
         "book novel hiking mountain beach summer winter recipe pasta pizza salad running yoga "
         "painting camera photo wedding family sister brother mother father job promotion salary "
         "apartment rent car bicycle train flight hotel museum concert festival volunteer shelter "
         "interview lake river forest city village market bakery library garden tennis chess").split()


def _records(rng: random.Random, start: int, n: int, tenants: int) -> list[MemoryRecord]:
    base = datetime(2024, 1, 1, tzinfo=UTC)
    out = []
    for i in range(start, start + n):
        r = MemoryRecord(
            id=f"m{i:08d}", text=" ".join(rng.sample(WORDS, 12)) + f" #{i}",
            namespace=f"ns{i % tenants}", user_id=f"user{i % (tenants * 10)}",
            topics=rng.sample(WORDS[:20], 2), memory_type="semantic",
            created_at=base + timedelta(seconds=i * 7.3), last_accessed=base,
        )
        r.memory_hash = memory_hash(r)
        out.append(r)
    return out


async def _fill(store: LongTermStore, embedder: HashingEmbedder, count: int, batch: int,
                tenants: int) -> None:
    rng = random.Random(11)
    t0 = time.perf_counter()
    for start in range(0, count, batch):
        records = _records(rng, start, min(batch, count - start), tenants)
        vectors = await embedder.embed([r.text for r in records])
        await store.write(records, vectors, replacing=[False] * len(records))
        done = start + len(records)
        if done % (batch * 25) == 0 or done == count:
            rate = done / (time.perf_counter() - t0)
            print(f"  {done:>9,} written  ({rate:,.0f} memories/s)", flush=True)


async def _redis_cpu(service: LongTermService) -> float:
    info = await service.store.redis.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


async def _latency(service: LongTermService, runs: int, modes: list[str]) -> None:
    rng = random.Random(5)
    for mode in modes:
        for label, extra in (("no filter", {}),
                             ("tenant filter", {"namespace": {"eq": "ns3"},
                                                "user_id": {"eq": "user3"}})):
            times = []
            cpu0, redis0 = time.process_time(), await _redis_cpu(service)
            for _ in range(runs):
                req = SearchRequest.model_validate(
                    {"text": " ".join(rng.sample(WORDS, 4)), "search_mode": mode, **extra})
                t = time.perf_counter()
                await service.search(LOCAL_ADMIN, req)
                times.append(time.perf_counter() - t)
            cpu = (time.process_time() - cpu0) / runs * 1e6
            redis_cpu = (await _redis_cpu(service) - redis0) / runs * 1e6
            # CPU per search (this process; Redis from INFO, whole server): unlike the
            # latencies it hardly moves when the machine's neighbours are busy
            print(f"search {mode:<8} {label:<14} p50={statistics.median(times) * 1000:8.2f} ms  "
                  f"p95={percentile(times, 95) * 1000:8.2f} ms  "
                  f"cpu: client {cpu:8,.0f} us  redis {redis_cpu:8,.0f} us")


async def run(url: str, args: argparse.Namespace) -> None:
    redis = Redis.from_url(url)
    if not args.reuse:
        await redis.flushdb()
    settings = Settings(redis_url=url, embedding_provider="hashing",
                        deduplication_distance_threshold=args.dedup_threshold)
    embedder = HashingEmbedder(384)
    store = LongTermStore(redis, settings, 384)
    await store.ensure_index(embedder.model_id)
    service = LongTermService(store, embedder, settings)
    used_before = (await redis.info("memory"))["used_memory"]
    if args.reuse:
        held = int((await store.index.info())["num_docs"])
        if held != args.count:
            raise SystemExit(f"--reuse: the index holds {held:,} memories, not {args.count:,}")
        used_before = 0
        print(f"== reusing {held:,} memories already in {url} ==")
    else:
        print(f"== filling {args.count:,} memories (batches of {args.batch}) ==")
        t0 = time.perf_counter()
        await _fill(store, embedder, args.count, args.batch, args.tenants)
        print(f"filled in {time.perf_counter() - t0:,.1f} s")
    while (await store.index.info())["indexing"] not in (0, "0"):
        await asyncio.sleep(1)
    info = await store.index.info()
    used = (await redis.info("memory"))["used_memory"] - used_before
    print(f"\nRedis used_memory: {used / 2**20:,.0f} MiB  ({used / args.count:,.0f} bytes/memory)")
    print(f"index: num_docs={info['num_docs']:,}  vector_index={float(info['vector_index_sz_mb']):,.0f} MiB  "
          f"inverted={float(info['inverted_sz_mb']):,.0f} MiB  "
          f"total_index={float(info['total_index_memory_sz_mb']):,.0f} MiB")
    if not args.skip_search:
        if settings.gc_tuning and not args.default_gc:
            tune_for_serving()  # the collector as the API process runs it (app.py)
        print(f"\n== search latency through the service ({args.runs} queries each) ==")
        await _latency(service, args.runs, args.modes.split(","))
    await redis.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--tenants", type=int, default=100, help="namespaces (users: 10 each)")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--dedup-threshold", type=float, default=0.12)
    parser.add_argument("--redis-url", help="an EMPTY database to use (it is flushed)")
    parser.add_argument("--reuse", action="store_true",
                        help="search the memories already in --redis-url (filled by an "
                             "earlier run with the same --count) instead of flushing and filling")
    parser.add_argument("--skip-search", action="store_true", help="fill only")
    parser.add_argument("--default-gc", action="store_true",
                        help="search with CPython's default collector thresholds instead "
                             "of the API process's (agent_memory/gc_tuning.py)")
    parser.add_argument("--modes", default="semantic,keyword,hybrid",
                        help="search modes to time, comma-separated")
    args = parser.parse_args()
    if args.reuse and not args.redis_url:
        parser.error("--reuse needs --redis-url")
    if args.redis_url:
        asyncio.run(run(args.redis_url, args))
    else:
        with temporary_redis(persistent=False) as server:
            asyncio.run(run(server.url, args))


if __name__ == "__main__":
    main()
