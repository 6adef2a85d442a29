"""CPU cost of each mixed-load operation, alone: server and Redis CPU per request.

Starts the same embedded Redis and API as ``load_mixed.py``, seeds the same data, then runs
each operation by itself from ``--clients`` clients for ``--seconds`` and reads the API and
Redis processes' CPU time from /proc before and after. On a 2-core machine the mixed-load
throughput is bounded by these figures, so this is where to look first.

    .venv/bin/python scripts/op_costs.py [--clients 8] [--seconds 4] [--search-mode keyword]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent_memory.embedded_redis import temporary_redis  # noqa: E402
from scripts._bench.cpu import CpuMeter, children  # noqa: E402
from scripts._bench.harness import api_process, percentile  # noqa: E402
from scripts._bench.http import Connection  # noqa: E402
from scripts.load_mixed import _ops, _seed  # noqa: E402

async def _run_op(host: str, port: int, name: str, clients: int, seconds: float, users: int,
                  mode: str | None) -> tuple[int, list[float], int]:
    latencies: list[float] = []
    errors = 0

    async def client(seed: int) -> None:
        nonlocal errors
        rng = random.Random(seed)
        make = _ops(rng, users, mode)[name][1]
        conn = Connection(host, port)
        stop_at = time.perf_counter() + seconds
        while time.perf_counter() < stop_at:
            method, path, body = make()  # type: ignore[operator]
            start = time.perf_counter()
            status, _ = await conn.request(method, path, body)
            latencies.append(time.perf_counter() - start)
            errors += not 200 <= status < 300
        await conn.close()

    await asyncio.gather(*(client(i) for i in range(clients)))
    return len(latencies), latencies, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients per operation")
    parser.add_argument("--seconds", type=float, default=4.0, help="how long each operation runs")
    parser.add_argument("--users", type=int, default=50, help="distinct users (sessions)")
    parser.add_argument("--memories-per-user", type=int, default=100, help="seeded memories")
    parser.add_argument("--search-mode", choices=["semantic", "keyword", "hybrid"])
    parser.add_argument("--ops", default="wm_get,wm_append,search,create,prompt",
                        help="comma-separated operations to measure, in order")
    args = parser.parse_args()
    with temporary_redis(persistent=True) as redis, api_process(redis.url) as url:
        parsed = urlparse(url)
        host, port = parsed.hostname or "127.0.0.1", parsed.port or 80
        meter = CpuMeter(api=lambda: children(url.pid),
                         redis=lambda: [redis.pid] if redis.pid else [])

        async def go() -> None:
            conn = Connection(host, port)
            await _seed(conn, args.users, args.memories_per_user, random.Random(7))
            await conn.close()
            print(f"API pid {url.pid}, Redis pid {redis.pid or '?'}", flush=True)
            print(f"{'operation':<10} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} "
                  f"{'API µs/req':>10} {'Redis µs/req':>12} {'errors':>6}")
            for name in args.ops.split(","):
                meter.start()
                t0 = time.perf_counter()
                count, lat, errors = await _run_op(host, port, name, args.clients, args.seconds,
                                                   args.users, args.search_mode)
                wall = time.perf_counter() - t0
                cpu = meter.per_request(count)
                print(f"{name:<10} {count / wall:7.0f} {percentile(lat, 50) * 1e3:7.2f} "
                      f"{percentile(lat, 99) * 1e3:7.2f} {cpu['api']:10.0f} {cpu['redis']:12.0f} "
                      f"{errors:6d}")

        asyncio.run(go())


if __name__ == "__main__":
    main()
