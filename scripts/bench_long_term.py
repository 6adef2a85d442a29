"""Long-term memory benchmark: create throughput, search per mode, get-by-id, server overhead.

Starts an embedded Redis and the API (``agent-memory api``, uvicorn, hashing embedder, 384
dims) in a child process, fills it through ``POST /v1/long-term-memory/`` (dedup on), then
times over loopback HTTP, one request at a time:

- create, batches of 10 and of 100 (memories/s);
- search in each mode, with and without filters, at each size (10k, and 100k with ``--large``);
- get by id;

and runs the *same* Redis work raw from this process: the same searches go through an
in-process service (same code and settings as the server) whose connection records the
commands of each round trip, and the timed raw side sends those recorded bytes, round trip by
round trip, with no client code between them (KNN, count, word counts when not reused,
candidate searches, the page read: whatever the server's code sends now). The server's own
overhead (HTTP, validation, ranking, JSON) shows as a difference and a ratio. Embedding time
is excluded from the overhead: the raw side has none, and the median hashing-embed time is
printed and subtracted from the server figure.

    .venv/bin/python scripts/bench_long_term.py [--sizes 10000] [--large] [--runs 200]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from redis.asyncio import Redis  # noqa: E402
from redisvl.query import FilterQuery  # noqa: E402

from agent_memory.embeddings import HashingEmbedder  # noqa: E402
from agent_memory.models.long_term import SearchRequest  # noqa: E402
from agent_memory.principal import LOCAL_ADMIN  # noqa: E402
from agent_memory.services.long_term import LongTermService  # noqa: E402
from agent_memory.settings import Settings  # noqa: E402
from agent_memory.storage.long_term import LongTermStore  # noqa: E402
from agent_memory.storage.mux import Mux, _Link  # noqa: E402
from agent_memory.embedded_redis import temporary_redis  # noqa: E402
from scripts._bench.harness import api_process, report  # noqa: E402
from scripts._bench.http import Connection  # noqa: E402

WORDS = ("alice bob carol dave coffee tea garden travel paris rome music piano guitar dog cat "
         "birthday meeting project deadline doctor dentist school exam movie book novel hiking "
         "mountain beach summer winter recipe pasta pizza salad running yoga painting camera "
         "photo wedding family sister brother mother father job promotion salary apartment rent "
         "car bicycle train flight hotel museum concert festival volunteer shelter interview").split()
NAMESPACES = [f"ns{i}" for i in range(10)]
USERS = [f"user{i}" for i in range(50)]


class _Recorder:
    """An in-process service whose Redis round trips are recorded (the packed commands of
    each flush of its connection), and a second connection to replay them on."""

    def __init__(self, service: LongTermService, redis: Redis) -> None:
        self.service = service
        self.mux = Mux.like(redis)  # the replay connection
        self.rounds: list[list[bytes]] | None = None
        self._hooked: _Link | None = None

    @property
    def replay_link(self) -> _Link | None:
        return self.mux._usable_link()

    async def hook(self) -> None:
        mux = self.service.store.mux
        link = mux._usable_link() or await mux._connected()
        if link is self._hooked:
            return
        flush = link._flush

        def recording_flush() -> None:
            if self.rounds is not None and link.out:
                self.rounds.append(list(link.out))
            flush()

        link._flush = recording_flush  # type: ignore[method-assign]
        self._hooked = link


async def _record(recorder: _Recorder, bodies: list[dict[str, Any]]) -> list[list[list[bytes]]]:
    """Per request body, the round trips (packed commands) the service sent for it."""
    await recorder.hook()
    out = []
    for body in bodies:
        recorder.rounds = []
        await recorder.service.search(LOCAL_ADMIN, SearchRequest.model_validate(body))
        out.append(recorder.rounds)
    recorder.rounds = None
    return out


def _memory(rng: random.Random, i: int) -> dict[str, Any]:
    words = rng.sample(WORDS, 9)
    return {"text": f"{' '.join(words)} {i}", "namespace": rng.choice(NAMESPACES),
            "user_id": rng.choice(USERS), "topics": rng.sample(WORDS[:12], 2)}


def _query(rng: random.Random) -> str:
    return " ".join(rng.sample(WORDS, 4))


async def _create(conn: Connection, rng: random.Random, total: int, batch: int, start: int) -> list[float]:
    times = []
    for b in range(0, total, batch):
        body = {"memories": [_memory(rng, start + b + j) for j in range(batch)], "deduplicate": True}
        t = time.perf_counter()
        status, raw = await conn.request("POST", "/v1/long-term-memory/", body)
        times.append(time.perf_counter() - t)
        assert status == 200, raw[:300]
    return times


def _throughput(name: str, times: list[float], batch: int) -> None:
    per_s = batch * len(times) / sum(times)
    print(f"{name:<28} batches={len(times):<5} p50={statistics.median(times) * 1000:7.2f} ms/batch"
          f"  throughput={per_s:8.0f} memories/s")


async def _timed(fn: Any, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        await fn()
        out.append(time.perf_counter() - t)
    return out


async def bench_size(conn: Connection, store: LongTermStore, embedder: HashingEmbedder,
                     recorder: _Recorder, rng: random.Random, runs: int, size: int) -> None:
    print(f"\n== search at {store_count(size)} memories ==")
    queries = [_query(rng) for _ in range(runs)]
    embed_t = []
    for q in queries[:50]:
        t = time.perf_counter()
        await embedder.embed([q])
        embed_t.append(time.perf_counter() - t)
    embed_ms = statistics.median(embed_t) * 1000
    print(f"hashing embed of one query: p50={embed_ms:.3f} ms (subtracted from server figures)")
    filt = {"namespace": {"eq": "ns3"}, "user_id": {"any": ["user1", "user2", "user3", "user4"]}}
    # keyword/hybrid run twice: the default scorer (BM25STD) goes through the Python BM25
    # ranker of services/ranking.py; text_scorer=BM25 is RediSearch's own scorer.
    runs_plan = [("semantic", {}), ("keyword", {}), ("keyword", {"text_scorer": "BM25"}),
                 ("hybrid", {}), ("hybrid", {"text_scorer": "BM25"})]
    for mode, scorer in runs_plan:
        for label, extra in (("no filter", {**scorer}), ("filtered", {**filt, **scorer})):
            if scorer:
                label += " scorer=BM25"
            it = iter(queries * 2)

            async def http_call() -> None:
                body = {"text": next(it), "search_mode": mode, "limit": 10, **extra}
                status, raw = await conn.request("POST", "/v1/long-term-memory/search", body)
                assert status == 200, raw[:300]

            server = report(f"http {mode} {label}", await _timed(http_call, runs))
            # The raw side replays, round trip by round trip, the commands an in-process
            # service (same code, same settings) sent for the same queries: recorded in a
            # pass before the timer, so the server's overhead is measured against exactly the
            # Redis work it does (its word counts reused or not, its candidate searches, the
            # page read), sent as bytes with no client code in between.
            rounds = await _record(recorder, [
                {"text": q, "search_mode": mode, "limit": 10, **extra} for q in queries])
            it2 = iter(rounds * 2)
            trips = statistics.median(len(r) for r in rounds[:runs])
            sent = statistics.median(sum(map(len, r)) for r in rounds[:runs])

            async def raw_call() -> None:
                for packed in next(it2):
                    link = recorder.replay_link or await recorder.mux._connected()
                    for future in link.send(packed):
                        if isinstance(await future, Exception):  # e.g. NOSCRIPT: not the same work
                            raise RuntimeError("a replayed command failed")

            raw = report(f"raw {mode} {label}", await _timed(raw_call, runs))
            print(f"  (raw: {trips:g} round trips, {sent:g} commands per search, median)")
            sub = embed_ms if mode != "keyword" else 0.0
            over = server["p50_ms"] - sub - raw["p50_ms"]
            print(f"  -> server overhead p50 {over:.3f} ms, ratio {(server['p50_ms'] - sub) / raw['p50_ms']:.2f}x")


def store_count(size: int) -> str:
    return f"{size:,}"


async def bench_get(conn: Connection, redis: Redis, ids: list[str], runs: int, prefix: str) -> None:
    it = iter(ids * (runs // max(len(ids), 1) + 2))

    async def http_call() -> None:
        status, raw = await conn.request("GET", f"/v1/long-term-memory/{next(it)}")
        assert status == 200, raw[:200]

    server = report("http get by id", await _timed(http_call, runs))
    it2 = iter(ids * (runs // max(len(ids), 1) + 2))

    async def raw_call() -> None:
        await redis.hgetall(f"{prefix}:{next(it2)}")

    raw = report("redis HGETALL", await _timed(raw_call, runs))
    print(f"  -> server overhead p50 {server['p50_ms'] - raw['p50_ms']:.3f} ms")


async def main(args: argparse.Namespace) -> None:
    sizes = list(args.sizes) + ([100_000] if args.large else [])
    rng = random.Random(7)
    with temporary_redis(persistent=False) as redis_server, api_process(
        redis_server.url, REDISVL_VECTOR_DIMENSIONS="384", USE_DOCKET=str(args.docket).lower(),
    ) as url:
        host, port = url.removeprefix("http://").split(":")
        conn = Connection(host, int(port))
        redis = Redis.from_url(redis_server.url)
        settings = Settings(redis_url=redis_server.url, embedding_provider="hashing")
        store = LongTermStore(redis, settings, 384)
        embedder = HashingEmbedder(384)
        recorder = _Recorder(LongTermService(store, embedder, settings), redis)
        print("== create (POST /v1/long-term-memory/, dedup on, hashing embedder) ==")
        _throughput("create batch=10", await _create(conn, rng, 2000, 10, 0), 10)
        _throughput("create batch=100", await _create(conn, rng, 6000, 100, 10_000_000), 100)
        # Two clients at once: the API (Python) and Redis (indexing) work on both cores.
        extra = [Connection(host, int(port)) for _ in range(2)]
        t0 = time.perf_counter()
        await asyncio.gather(*(_create(c, random.Random(30 + n), 1000, 100, 30_000_000 + n * 10_000)
                               for n, c in enumerate(extra)))
        print(f"{'create batch=100, 2 clients':<28} throughput={2000 / (time.perf_counter() - t0):8.0f}"
              " memories/s")
        for c in extra:
            await c.close()
        filled = 10_000
        for size in sorted(sizes):
            if size > filled:
                t0 = time.perf_counter()
                await _create(conn, rng, size - filled, 100, 20_000_000 + filled)
                dt = time.perf_counter() - t0
                print(f"filled to {size:,} ({(size - filled) / dt:,.0f} memories/s)")
                filled = size
            await bench_size(conn, store, embedder, recorder, rng, args.runs, size)
        listing = FilterQuery(None, return_fields=["id_"], num_results=200)
        ids = [doc.id_ for doc in (await store.index.batch_search(
            [(listing.query, listing.params)]))[0].docs]
        print()
        await bench_get(conn, redis, ids, args.runs, settings.redisvl_index_prefix)
        await conn.close()
        await redis.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000])
    parser.add_argument("--large", action="store_true", help="also run at 100k memories")
    parser.add_argument("--runs", type=int, default=200, help="requests per measurement")
    parser.add_argument("--docket", action="store_true",
                        help="USE_DOCKET=true (search enqueues the access update)")
    asyncio.run(main(parser.parse_args()))
