"""Mixed workload on loopback: many concurrent clients for a fixed time, then figures.

Starts its own embedded Redis (append-only on) and the API in a separate process with the
hashing embedder, seeds long-term memories and sessions, then runs ``--clients`` keep-alive
clients for ``--seconds``. Each client picks operations by weight: working-memory appends and
reads, long-term searches and creates, and prompt calls. Prints throughput, p50/p95/p99 per
operation and the error count, and stops by itself.

    .venv/bin/python scripts/load_mixed.py [--clients 32] [--seconds 20]
    .venv/bin/python scripts/load_mixed.py --url http://127.0.0.1:8000   # an existing server
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import sys
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlparse

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent_memory.embedded_redis import temporary_redis  # noqa: E402
from scripts._bench.cpu import CpuMeter, children  # noqa: E402
from scripts._bench.harness import api_process, percentile  # noqa: E402
from scripts._bench.http import Connection, HttpError  # noqa: E402

WORDS = ("flight hotel lisbon berlin coffee tea budget meeting project deadline dentist "
         "birthday gift running marathon piano guitar python redis vector memory garden "
         "recipe pasta vegan allergy peanut cat dog school exam music jazz").split()


def _sentence(rng: random.Random, n: int = 10) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def _ops(rng: random.Random, users: int, mode: str | None) -> dict[str, tuple[int, object]]:
    def user() -> str:
        return f"user-{rng.randrange(users)}"

    def wm_append() -> tuple[str, str, object]:
        u = user()
        return ("POST", f"/v1/working-memory/{u}-chat/messages?recent_messages_limit=20", {
            "namespace": "load", "user_id": u,
            "messages": [{"role": rng.choice(["user", "assistant"]), "content": _sentence(rng)}]})

    def wm_get() -> tuple[str, str, object]:
        u = user()
        return ("GET", f"/v1/working-memory/{u}-chat?namespace=load&user_id={u}&recent_messages_limit=20", None)

    def search() -> tuple[str, str, object]:
        body = {"text": _sentence(rng, 4), "limit": 10,
                "namespace": {"eq": "load"}, "user_id": {"eq": user()}}
        if mode:
            body["search_mode"] = mode
        return ("POST", "/v1/long-term-memory/search", body)

    def create() -> tuple[str, str, object]:
        u = user()
        return ("POST", "/v1/long-term-memory/", {"memories": [
            {"text": _sentence(rng), "namespace": "load", "user_id": u} for _ in range(2)]})

    def prompt() -> tuple[str, str, object]:
        u = user()
        return ("POST", "/v1/memory/prompt", {
            "query": _sentence(rng, 5),
            "session": {"session_id": f"{u}-chat", "namespace": "load", "user_id": u,
                        "context_window_max": 4000},
            "long_term_search": {"limit": 5, **({"search_mode": mode} if mode else {})}})

    return {"wm_append": (25, wm_append), "wm_get": (25, wm_get), "search": (25, search),
            "create": (15, create), "prompt": (10, prompt)}


async def _seed(conn: Connection, users: int, memories_per_user: int, rng: random.Random) -> None:
    for u in range(users):
        batch = [{"text": _sentence(rng), "namespace": "load", "user_id": f"user-{u}"}
                 for _ in range(memories_per_user)]
        status, body = await conn.request("POST", "/v1/long-term-memory/", {"memories": batch})
        if status >= 300:
            raise SystemExit(f"seeding failed: {status} {body[:200]!r}")
        status, _ = await conn.request("POST", f"/v1/working-memory/user-{u}-chat/messages", {
            "namespace": "load", "user_id": f"user-{u}",
            "messages": [{"role": "user", "content": _sentence(rng)}]})


# Requests each client prepares before the clock starts (then cycles through): building
# and JSON-encoding them during the run would spend the server's CPU on the load generator.
PREPARED_PER_CLIENT = 2000


def _prepare(conn: Connection, seed: int, users: int, mode: str | None) -> list[tuple[str, bytes]]:
    rng = random.Random(seed)
    ops = _ops(rng, users, mode)
    names = list(ops)
    weights = [ops[n][0] for n in names]
    out = []
    for _ in range(PREPARED_PER_CLIENT):
        name = rng.choices(names, weights)[0]
        out.append((name, conn.prepare(*ops[name][1]())))  # type: ignore[operator]
    return out


async def _client(conn: Connection, prepared: list[tuple[str, bytes]], stop_at: float,
                  latencies: dict[str, list[float]], errors: dict[str, int]) -> None:
    try:
        i = 0
        while time.perf_counter() < stop_at:
            name, raw = prepared[i % len(prepared)]
            i += 1
            start = time.perf_counter()
            try:
                status, _ = await conn.send(raw)
            except HttpError:
                status = 0
            latencies[name].append(time.perf_counter() - start)
            if not 200 <= status < 300:
                errors[f"{name}:{status}"] += 1
    finally:
        await conn.close()


async def run(url: str, clients: int, seconds: float, users: int, per_user: int,
              mode: str | None = None, meter: CpuMeter | None = None) -> int:
    parsed = urlparse(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 80
    rng = random.Random(7)
    seeder = Connection(host, port)
    await _seed(seeder, users, per_user, rng)
    await seeder.close()
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    conns = [Connection(host, port) for _ in range(clients)]
    work = [(conn, _prepare(conn, i, users, mode)) for i, conn in enumerate(conns)]
    if meter is not None:
        meter.start()
    started = time.perf_counter()
    stop_at = started + seconds
    await asyncio.gather(*(_client(conn, prepared, stop_at, latencies, errors)
                           for conn, prepared in work))
    wall = time.perf_counter() - started
    total = sum(len(v) for v in latencies.values())
    cpu = meter.per_request(total) if meter is not None else None
    every = [x for v in latencies.values() for x in v]
    print(f"mixed load: {clients} clients, {wall:.1f} s, {users} users, "
          f"{users * per_user} seeded memories, search mode {mode or 'server default'}")
    print(f"throughput: {total / wall:,.0f} req/s  ({total} requests)")
    print(f"{'operation':<10} {'count':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for name in sorted(latencies):
        v = latencies[name]
        print(f"{name:<10} {len(v):>7} {percentile(v, 50) * 1e3:8.2f} "
              f"{percentile(v, 95) * 1e3:8.2f} {percentile(v, 99) * 1e3:8.2f}")
    print(f"{'all':<10} {total:>7} {percentile(every, 50) * 1e3:8.2f} "
          f"{percentile(every, 95) * 1e3:8.2f} {percentile(every, 99) * 1e3:8.2f}")
    print(f"errors: {sum(errors.values())} {dict(errors) if errors else ''}")
    if cpu is not None:
        print("CPU µs per request: " + ", ".join(f"{k} {v:.0f}" for k, v in cpu.items()))
    return sum(errors.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=32, help="concurrent keep-alive clients")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long to run")
    parser.add_argument("--users", type=int, default=50, help="distinct users (sessions)")
    parser.add_argument("--memories-per-user", type=int, default=100, help="seeded memories")
    parser.add_argument("--url", help="use a running server instead of starting one")
    parser.add_argument("--api-workers", type=int, default=1, help="API processes to start")
    parser.add_argument("--search-mode", choices=["semantic", "keyword", "hybrid"],
                        help="search_mode of searches and prompts (default: the server's)")
    args = parser.parse_args()
    common = (args.clients, args.seconds, args.users, args.memories_per_user, args.search_mode)
    # The load generator shares the machine's 2 cores with the server: uvloop keeps its
    # own share small (it is the same loop the server runs on).
    if args.url:
        errors = uvloop.run(run(args.url, *common))
    else:
        with temporary_redis(persistent=True) as redis, api_process(redis.url, API_WORKERS=str(args.api_workers)) as url:
            # CPU time per request of each party (from /proc): unlike throughput, it does
            # not move when the machine's neighbours are busy.
            meter = CpuMeter(api=lambda: children(url.pid),
                             redis=lambda: [redis.pid] if redis.pid else [],
                             load=lambda: [os.getpid()])
            errors = uvloop.run(run(url, *common, meter=meter))
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
