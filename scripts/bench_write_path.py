"""Write path with background work on: working-memory writes → searchable long-term memories.

Starts an embedded Redis, the API in its own process (``agent-memory api --no-worker``) and
N worker processes (``agent-memory worker``), all configured by environment as deployed.
Clients append messages to many sessions over keep-alive connections; every write re-arms
its session's debounced promotion; workers index the messages as long-term memories. The
clock runs from the first write until every message is searchable (counted in the index).

Two modes:
- default: no model configured, messages become ``message`` memories (Docket + embedding +
  index cost only);
- ``--llm-delay S``: a local OpenAI-compatible stub answers each extraction call after S
  seconds with one memory per message (model latency dominates; workers overlap it).

    .venv/bin/python scripts/bench_write_path.py [--sessions 200] [--rounds 5] [--per-write 4]
        [--workers 1 2] [--llm-delay 0.2]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from redis import Redis  # noqa: E402
from redis.commands.search.query import Query  # noqa: E402

from agent_memory.embedded_redis import temporary_redis  # noqa: E402
from scripts._bench.harness import api_process, percentile, stop_processes  # noqa: E402
from scripts._bench.http import Connection  # noqa: E402

INDEX = "memory_records"


@contextlib.contextmanager
def worker_processes(count: int, env: dict[str, str]) -> Iterator[list[subprocess.Popen[bytes]]]:
    """``count`` ``agent-memory worker`` processes sharing the Docket."""
    procs = [subprocess.Popen([sys.executable, "-m", "agent_memory", "worker", "--concurrency", "10"],
                              env={**os.environ, **env}, stderr=subprocess.DEVNULL)
             for _ in range(count)]
    try:
        yield procs
    finally:
        stop_processes(procs)


@contextlib.contextmanager
def stub_model(delay: float) -> Iterator[str | None]:
    """A loopback OpenAI-compatible stub that returns one memory per message, or nothing."""
    if delay <= 0:
        yield None
        return
    from tests.support.stub_openai import StubOpenAI, StubServer

    turn = re.compile(r"\[USER\] \([^)]*\): (.+)")

    def extract(body: dict[str, object]) -> str:
        prompt = str(body["messages"][0]["content"])  # type: ignore[index]
        texts = [f"remembered: {m}" for m in turn.findall(prompt)]
        return json.dumps({"memories": [{"type": "semantic", "text": t} for t in texts]})

    with StubServer(StubOpenAI(default_reply=extract, delay_seconds=delay)) as stub:
        yield stub.base_url


def indexed(redis_url: str) -> int:
    """How many long-term memories the index holds."""
    client = Redis.from_url(redis_url)
    try:
        return int(client.ft(INDEX).search(Query("*").paging(0, 0)).total)
    except Exception:  # noqa: BLE001 - the index may not exist yet
        return 0
    finally:
        client.close()


async def write_load(url: str, sessions: int, rounds: int, per_write: int,
                     clients: int) -> list[float]:
    """Append ``per_write`` messages ``rounds`` times to each session; return latencies."""
    host, port = url.removeprefix("http://").split(":")
    queue: asyncio.Queue[tuple[int, int]] = asyncio.Queue()
    for r in range(rounds):
        for s in range(sessions):
            queue.put_nowait((s, r))
    latencies: list[float] = []

    async def client() -> None:
        conn = Connection(host, int(port))
        while not queue.empty():
            s, r = queue.get_nowait()
            messages = [{"role": "user", "id": f"s{s}-r{r}-m{i}",
                         "content": f"session {s} round {r} message {i}: I booked a trip "
                                    f"to city number {s * 31 + r * 7 + i} for work."}
                        for i in range(per_write)]
            start = time.perf_counter()
            status, body = await conn.request("POST", f"/v1/working-memory/s{s}/messages",
                                              {"namespace": "bench", "user_id": f"u{s % 20}",
                                               "messages": messages})
            latencies.append(time.perf_counter() - start)
            if status != 200:
                raise RuntimeError(f"append -> {status}: {body[:200]!r}")
        await conn.close()

    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies


def run(workers: int, args: argparse.Namespace) -> dict[str, float]:
    expected = args.sessions * args.rounds * args.per_write
    with temporary_redis(persistent=False) as redis, stub_model(args.llm_delay) as model_url:
        env = {"REDIS_URL": redis.url, "EMBEDDING_PROVIDER": "hashing", "LOG_LEVEL": "ERROR",
               "EXTRACTION_DEBOUNCE_SECONDS": str(args.debounce),
               "DEDUPLICATION_DISTANCE_THRESHOLD": "0",
               "ENABLE_WORKING_MEMORY_SUMMARIZATION": "false"}
        if model_url:
            env.update({"OPENAI_API_BASE": model_url, "OPENAI_API_KEY": "bench",
                        "LLM_MAX_RETRIES": "0"})
        with api_process(redis.url, **env) as url, worker_processes(workers, env):
            time.sleep(1.0)  # let workers connect and seed their periodic jobs
            started = time.perf_counter()
            latencies = asyncio.run(write_load(url, args.sessions, args.rounds, args.per_write,
                                               args.clients))
            written = time.perf_counter()
            deadline = written + args.timeout
            count = 0
            while time.perf_counter() < deadline:
                count = indexed(redis.url)
                if count >= expected:
                    break
                time.sleep(0.05)
            done = time.perf_counter()
    total = done - started
    figures = {"workers": workers, "memories": count, "expected": expected,
               "seconds": total, "memories_per_s": count / total,
               "write_p50_ms": percentile(latencies, 50) * 1000,
               "write_p95_ms": percentile(latencies, 95) * 1000,
               "drain_after_last_write_s": done - written}
    print(f"workers={workers}: {count}/{expected} memories searchable in {total:6.2f} s "
          f"→ {figures['memories_per_s']:7.1f} memories/s; writes p50 "
          f"{figures['write_p50_ms']:.2f} ms p95 {figures['write_p95_ms']:.2f} ms; "
          f"drained {figures['drain_after_last_write_s']:.2f} s after the last write")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5, help="appends per session")
    parser.add_argument("--per-write", type=int, default=4, help="messages per append")
    parser.add_argument("--clients", type=int, default=8, help="concurrent HTTP connections")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--debounce", type=float, default=0.2,
                        help="EXTRACTION_DEBOUNCE_SECONDS (AMS: 30)")
    parser.add_argument("--llm-delay", type=float, default=0.0,
                        help="seconds per stub model call; 0 = no model configured")
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    mode = f"stub model, {args.llm_delay}s per call" if args.llm_delay else "no model"
    print(f"write path ({mode}): {args.sessions} sessions x {args.rounds} appends x "
          f"{args.per_write} messages, {args.clients} clients, debounce {args.debounce}s, "
          f"hashing embedder, loopback, 2 cores shared by Redis, API, workers and clients")
    results = [run(w, args) for w in args.workers]
    if len(results) >= 2 and results[0]["memories_per_s"]:
        print(f"ratio {results[-1]['workers']:.0f} vs {results[0]['workers']:.0f} workers: "
              f"{results[-1]['memories_per_s'] / results[0]['memories_per_s']:.2f}x")


if __name__ == "__main__":
    main()
