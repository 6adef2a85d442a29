"""Client cost of one Redis command: redis-py's pooled client against the shared mux.

Starts a temporary embedded Redis and, under uvloop, has 1, 4, 12 and 32 concurrent callers
each send ``HGET h f`` in a loop, through (a) the redis-py client of ``create_redis`` (a
pooled connection per command in flight) and (b) ``Mux.like(client)`` (one pipelined
connection, ``agent_memory/storage/mux.py``). Prints, per configuration, the median over
the rounds of this process's CPU µs per command (``time.process_time``: Redis runs in its
own process and is not counted) and wall µs per command, and the ratio redis-py / mux.

    .venv/bin/python scripts/bench_redis_client.py [--commands 20000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import uvloop

from agent_memory.embedded_redis import temporary_redis
from agent_memory.settings import Settings
from agent_memory.storage.mux import Mux
from agent_memory.storage.redis import create_redis

CONCURRENCY = (1, 4, 12, 32)
Command = Callable[[], Awaitable[Any]]


async def timed_round(command: Command, callers: int, total: int) -> tuple[float, float]:
    """``total`` commands shared by ``callers`` tasks: (CPU µs, wall µs) per command."""
    per_caller = total // callers

    async def caller() -> None:
        for _ in range(per_caller):
            await command()

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(callers)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    done = per_caller * callers
    return cpu / done * 1e6, wall / done * 1e6


async def run(url: str, total: int, rounds: int) -> None:
    client = create_redis(Settings(redis_url=url))
    mux = Mux.like(client)
    await client.hset("h", "f", "a value of some thirty bytes..")
    clients: dict[str, Command] = {
        "redis-py": lambda: client.execute_command("HGET", "h", "f"),
        "mux": lambda: mux.execute("HGET", "h", "f"),
    }
    for reply in [await command() for command in clients.values()]:
        assert reply == b"a value of some thirty bytes..", reply

    print(f"HGET, {total} commands per round, median of {rounds} rounds, "
          "µs per command (client process only for CPU)")
    print(f"{'callers':>7} | {'CPU redis-py':>12} {'mux':>7} {'ratio':>6} | "
          f"{'wall redis-py':>13} {'mux':>7} {'ratio':>6}")
    for callers in CONCURRENCY:
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in clients}
        for name, command in clients.items():  # warm up: connections, caches
            await timed_round(command, callers, total // 10)
        for _ in range(rounds):  # alternate, so a drift of the machine hits both alike
            for name, command in clients.items():
                samples[name].append(await timed_round(command, callers, total))
        py_cpu, py_wall = (statistics.median(s) for s in zip(*samples["redis-py"]))
        mux_cpu, mux_wall = (statistics.median(s) for s in zip(*samples["mux"]))
        print(f"{callers:>7} | {py_cpu:>12.1f} {mux_cpu:>7.1f} {py_cpu / mux_cpu:>5.1f}x | "
              f"{py_wall:>13.1f} {mux_wall:>7.1f} {py_wall / mux_wall:>5.1f}x")
    await mux.aclose()
    await client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--commands", type=int, default=20000, help="commands per round")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per configuration")
    args = parser.parse_args()
    with temporary_redis() as redis:
        uvloop.run(run(redis.url, args.commands, args.rounds))


if __name__ == "__main__":
    main()
