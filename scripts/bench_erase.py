"""Erase a user with 10,000 memories and 100 sessions while other users keep the server busy.

Starts its own embedded Redis (append-only file on, as the server runs by default), the API
and a task worker in separate processes (hashing embedder), seeds the user to erase plus
``--users`` other users, then runs the mixed load of ``load_mixed.py`` (working-memory
appends and reads, searches, creates, prompts; other users only) three times:

1. baseline, no erase;
2. the same load, with ``POST /v1/users/victim/erase`` sent after ``--erase-after`` seconds
   (the erase runs on the worker: every store, the final sweep, then BGREWRITEAOF);
3. baseline again (the machine is shared: two baselines show the drift).

Prints the erase's wall time (request to task success), what it removed per store, the
AOF outcome, and the other users' p50/p99 in each phase, overall and inside the erase's
time window. Goal: erase under 10 s; others' p99 within 2x of the baseline.

    .venv/bin/python scripts/bench_erase.py [--memories 10000] [--sessions 100] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent_memory.embedded_redis import temporary_redis  # noqa: E402
from scripts._bench.harness import api_process, percentile  # noqa: E402
from scripts._bench.http import Connection, HttpError  # noqa: E402
from scripts.load_mixed import _prepare, _seed, _sentence  # noqa: E402

VICTIM = "victim"


@contextlib.contextmanager
def worker_process(redis_url: str) -> Iterator[None]:
    """Run ``agent-memory worker`` in a child process."""
    env = {**os.environ, "REDIS_URL": redis_url, "EMBEDDING_PROVIDER": "hashing",
           "LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen([sys.executable, "-m", "agent_memory", "worker"], env=env,
                            stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


async def _seed_victim(conn: Connection, memories: int, sessions: int,
                       rng: random.Random) -> None:
    for start in range(0, memories, 500):
        batch = [{"text": f"{_sentence(rng)} v{start + i}", "namespace": "load",
                  "user_id": VICTIM} for i in range(min(500, memories - start))]
        status, body = await conn.request("POST", "/v1/long-term-memory/",
                                          {"memories": batch, "deduplicate": False})
        if status >= 300:
            raise SystemExit(f"seeding failed: {status} {body[:200]!r}")
    for s in range(sessions):
        status, body = await conn.request("PUT", f"/v1/working-memory/victim-s{s}", {
            "namespace": "load", "user_id": VICTIM,
            "messages": [{"role": "user", "content": _sentence(rng)} for _ in range(5)]})
        if status >= 300:
            raise SystemExit(f"seeding failed: {status} {body[:200]!r}")


async def _load(host: str, port: int, clients: int, seconds: float, users: int, seed: int,
                erase: bool, erase_after: float) -> tuple[dict[str, list[tuple[float, float]]],
                                                          dict[str, object] | None]:
    """Run the mixed load; with ``erase``, erase the victim meanwhile. Returns the
    latencies ``(start time, seconds)`` per operation and the erase figures."""
    latencies: dict[str, list[tuple[float, float]]] = defaultdict(list)
    conns = [Connection(host, port) for _ in range(clients)]
    work = [(c, _prepare(c, seed + i, users, None)) for i, c in enumerate(conns)]
    started = time.perf_counter()
    stop_at = started + seconds

    async def client(conn: Connection, prepared: list[tuple[str, bytes]]) -> None:
        i = 0
        try:
            while time.perf_counter() < stop_at:
                name, raw = prepared[i % len(prepared)]
                i += 1
                t0 = time.perf_counter()
                try:
                    await conn.send(raw)
                except HttpError:
                    pass
                latencies[name].append((t0 - started, time.perf_counter() - t0))
        finally:
            await conn.close()

    async def eraser() -> dict[str, object]:
        await asyncio.sleep(erase_after)
        conn = Connection(host, port)
        t0 = time.perf_counter()
        status, body = await conn.request("POST", f"/v1/users/{VICTIM}/erase",
                                          {"namespace": "load", "reason": "benchmark"})
        if status != 202:
            raise SystemExit(f"erase refused: {status} {body[:200]!r}")
        task = json.loads(body)["task_id"]
        while True:
            await asyncio.sleep(0.05)
            status, body = await conn.request("GET", f"/v1/users/{VICTIM}/erase/{task}")
            doc = json.loads(body)
            if doc["status"] in ("success", "failed"):
                break
        t1 = time.perf_counter()
        await conn.close()
        return {"seconds": t1 - t0, "window": (t0 - started, t1 - started), **doc}

    jobs = [client(c, p) for c, p in work]
    if erase:
        *_, outcome = await asyncio.gather(*jobs, eraser())
        return latencies, outcome
    await asyncio.gather(*jobs)
    return latencies, None


def _figures(lat: dict[str, list[tuple[float, float]]],
             window: tuple[float, float] | None = None) -> tuple[int, float, float]:
    every = [d for v in lat.values() for t, d in v
             if window is None or window[0] <= t <= window[1]]
    if not every:  # an erase shorter than any request: nothing started inside its window
        return 0, float("nan"), float("nan")
    return len(every), percentile(every, 50) * 1e3, percentile(every, 99) * 1e3


async def run(url: str, args: argparse.Namespace) -> None:
    parsed = urlparse(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 80
    rng = random.Random(11)
    conn = Connection(host, port)
    t0 = time.perf_counter()
    await _seed(conn, args.users, args.memories_per_user, rng)
    await _seed_victim(conn, args.memories, args.sessions, rng)
    await conn.close()
    print(f"seeded {args.memories} memories and {args.sessions} sessions for {VICTIM!r}, "
          f"{args.users} other users x {args.memories_per_user} memories "
          f"({time.perf_counter() - t0:.0f} s); waiting {args.settle:.0f} s for promotion")
    await asyncio.sleep(args.settle)
    phases = {}
    for name, erase in (("baseline", False), ("with erase", True), ("baseline again", False)):
        lat, outcome = await _load(host, port, args.clients, args.seconds, args.users,
                                   seed=len(phases) * 100, erase=erase,
                                   erase_after=args.erase_after)
        phases[name] = (lat, outcome)
    print(f"\nmixed load of other users: {args.clients} clients, {args.seconds:.0f} s per phase")
    print(f"{'phase':<26} {'requests':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for name, (lat, outcome) in phases.items():
        n, p50, p99 = _figures(lat)
        print(f"{name:<26} {n:>9} {p50:8.2f} {p99:8.2f}")
        if outcome is not None:
            n, p50, p99 = _figures(lat, outcome["window"])  # type: ignore[arg-type]
            print(f"{'  during the erase only':<26} {n:>9} {p50:8.2f} {p99:8.2f}")
    outcome = phases["with erase"][1]
    assert outcome is not None
    print(f"\nerase: {outcome['status']} in {outcome['seconds']:.2f} s "
          f"(request to task success, polled every 50 ms)")
    result = outcome.get("result") or {}
    for store, counts in (result.get("stores") or {}).items():  # type: ignore[union-attr]
        print(f"  {store}: {counts}")
    print(f"  aof: {result.get('aof')}")
    print(f"  seconds per step (worker side): {result.get('seconds')}")
    if outcome.get("started_at") and outcome.get("created_at"):
        from datetime import datetime

        waited = (datetime.fromisoformat(outcome["started_at"])  # type: ignore[arg-type]
                  - datetime.fromisoformat(outcome["created_at"])).total_seconds()  # type: ignore[arg-type]
        print(f"  queued before a worker slot was free: {waited:.2f} s")
    base = [_figures(phases[p][0])[2] for p in ("baseline", "baseline again")]
    during = _figures(phases["with erase"][0], outcome["window"])[2]  # type: ignore[arg-type]
    print(f"others' p99 during the erase / mean baseline p99: "
          f"{during / (sum(base) / 2):.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--memories", type=int, default=10_000, help="memories of the victim")
    parser.add_argument("--sessions", type=int, default=100, help="sessions of the victim")
    parser.add_argument("--users", type=int, default=50, help="other users")
    parser.add_argument("--memories-per-user", type=int, default=100)
    parser.add_argument("--clients", type=int, default=8, help="concurrent load clients")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each phase")
    parser.add_argument("--erase-after", type=float, default=3.0,
                        help="seconds into the second phase when the erase is sent")
    parser.add_argument("--settle", type=float, default=5.0,
                        help="seconds to let the worker promote the seeded sessions")
    args = parser.parse_args()
    with temporary_redis(persistent=True, prefix="am-bench-erase-") as redis, \
            api_process(redis.url) as url, worker_process(redis.url):
        uvloop.run(run(url, args))


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
