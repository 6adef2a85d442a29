"""Turn ingestion: acknowledged turns per second and the latency of the 202, then turns per
second through passive enrichment with the stub model.

Starts an embedded Redis and the API in its own process (``agent-memory api --no-worker``),
configured by environment as deployed (hashing embedder, loopback).

1. **Acknowledge.** One client (``--sequential`` requests: the 202's latency without
   queueing), then ``--clients`` keep-alive connections send ``POST /ingestion/memory``
   with active writes on (session messages + one searchable fragment per turn, written
   before the 202) and passive on (the job is enqueued before the 202; no worker runs, so
   only the request path is timed). Two shapes: one turn per request (latency), and
   ``--batch`` turns per request (throughput). ``POST /v1/process`` (one turn pair per
   request) is timed the same way. Each line also gives the CPU the API process(es) and
   Redis spent per request (``/proc``), and Redis's read events per request: how many
   separate writes the API sent it (pipelined commands leave in one write), with one
   client the request's sequential round trips; with several, requests in flight
   together share writes. These do not move much with what else runs on the machine.
2. **Enrich.** ``--workers`` worker processes and the stub OpenAI-compatible model
   (``tests/support/stub_openai.py``, answering each adjudication call after
   ``--llm-delay`` seconds with one memory) process ``--jobs`` requests of ``--batch``
   turns; the clock runs from the first request until every job is ``succeeded``.

    .venv/bin/python scripts/bench_ingest.py [--requests 2000] [--clients 8] [--sequential 300]
        [--batch 20] [--jobs 100] [--workers 2] [--llm-delay 0.0] [--api-workers 1]
        (--jobs 0: no enrichment; --api-workers N: N API processes share the port)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from redis import Redis  # noqa: E402

from agent_memory.embedded_redis import temporary_redis  # noqa: E402
from scripts._bench.cpu import CpuMeter, children  # noqa: E402
from scripts._bench.harness import ApiUrl, api_process, percentile, stop_processes  # noqa: E402
from scripts._bench.http import Connection  # noqa: E402


def turns(request: int, count: int) -> list[dict[str, str]]:
    """``count`` distinct turns (alternating user and assistant) for one request."""
    out = []
    for i in range(count):
        role = "user" if i % 2 == 0 else "assistant"
        text = (f"I like topic {request}-{i} a lot" if role == "user"
                else f"Noted about topic {request}-{i}.")
        out.append({"role": role, "text": text,
                    "timestamp": f"2026-05-08T{(i // 3600) % 24:02d}:{(i // 60) % 60:02d}:"
                                 f"{i % 60:02d}Z"})
    return out


def ingestion_body(request: int, count: int, user: int) -> dict[str, object]:
    return {"scope": {"org_id": "bench", "user_id": f"u{user}", "session_id": f"s{user}"},
            "turns": turns(request, count)}


def process_body(request: int, user: int) -> dict[str, object]:
    return {"user_id": f"u{user}", "containers": [{"id": f"t{request % 50}", "type": "thread"}],
            "turn": {"user_message": f"I prefer tool {request}", "assistant_response": "OK.",
                     "user_message_id": f"mu{request}", "assistant_message_id": f"ma{request}"}}


async def load(url: str, path: str, bodies: list[dict[str, object]],
               clients: int) -> tuple[list[float], float]:
    """Send every body once over ``clients`` connections; return latencies and wall time."""
    host, port = url.removeprefix("http://").split(":")
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    probe = Connection(host, int(port))
    for body in bodies:
        queue.put_nowait(probe.prepare("POST", path, body))
    latencies: list[float] = []

    async def client() -> None:
        conn = Connection(host, int(port))
        try:
            while not queue.empty():
                raw = queue.get_nowait()
                started = time.perf_counter()
                status, reply = await conn.send(raw)
                latencies.append(time.perf_counter() - started)
                if status != 202:
                    raise RuntimeError(f"{path} answered {status}: {reply[:200]!r}")
        finally:
            await conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies, time.perf_counter() - started


class Costs:
    """CPU of the API process(es) and of Redis, and Redis's read events (one per write the
    API sent: its round trips), per request of one timed run."""

    def __init__(self, url: ApiUrl, redis_pid: int | None, redis_url: str) -> None:
        self.meter = CpuMeter(api=lambda: children(url.pid),
                              redis=lambda: [redis_pid] if redis_pid else [])
        self.client = Redis.from_url(redis_url)
        self.reads = 0

    def _reads(self) -> int:
        return int(self.client.info("stats")["total_reads_processed"])

    def start(self) -> None:
        self.meter.start()
        self.reads = self._reads()

    def per_request(self, requests: int) -> dict[str, float]:
        figures = self.meter.per_request(requests)
        # the INFO calls themselves are two reads; spread over the run they are noise
        figures["round_trips"] = (self._reads() - self.reads - 1) / max(requests, 1)
        return figures


def line(name: str, latencies: list[float], wall: float, per_request: int,
         costs: dict[str, float]) -> dict[str, float]:
    figures = {"turns_per_s": len(latencies) * per_request / wall,
               "p50_ms": percentile(latencies, 50) * 1000,
               "p99_ms": percentile(latencies, 99) * 1000, **costs}
    print(f"{name:<40} {len(latencies):>5} req  {figures['turns_per_s']:7.0f} turns/s  "
          f"202 p50 {figures['p50_ms']:6.2f} ms  p99 {figures['p99_ms']:6.2f} ms  "
          f"CPU/req API {costs['api']:5.0f} us Redis {costs['redis']:5.0f} us  "
          f"{costs['round_trips']:4.1f} Redis reads/req")
    return figures


def timed(costs: Costs, url: str, path: str, bodies: list[dict[str, object]],
          clients: int) -> tuple[list[float], float, dict[str, float]]:
    costs.start()
    latencies, wall = asyncio.run(load(url, path, bodies, clients))
    return latencies, wall, costs.per_request(len(bodies))


@contextlib.contextmanager
def worker_processes(count: int, env: dict[str, str]) -> Iterator[None]:
    procs = [subprocess.Popen([sys.executable, "-m", "agent_memory", "worker",
                               "--concurrency", "10"], env={**os.environ, **env},
                              stderr=subprocess.DEVNULL) for _ in range(count)]
    try:
        yield
    finally:
        stop_processes(procs)


@contextlib.contextmanager
def stub_model(delay: float) -> Iterator[str]:
    """The stub model, answering each adjudication call with one memory."""
    from tests.support.stub_openai import StubOpenAI, StubServer

    def adjudicate(body: dict[str, object]) -> str:
        prompt = str(body["messages"][0]["content"])  # type: ignore[index]
        turn = json.loads(prompt.split("Turn (JSON): ", 1)[1])
        return json.dumps({"memories": [{"action": "add", "scope": "user",
                                         "text": f"User said: {turn[0]['text']}"}]})

    with StubServer(StubOpenAI(default_reply=adjudicate, delay_seconds=delay)) as stub:
        yield stub.base_url


def jobs_done(redis_url: str) -> tuple[int, int]:
    """``(succeeded, total)`` ingestion jobs."""
    client = Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match="am:job:*", count=1000))
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.hget(key, "status")
        statuses = pipe.execute()
        return sum(s == b"succeeded" for s in statuses), len(keys)
    finally:
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--sequential", type=int, default=300,
                        help="single-turn requests from one client (latency without queueing)")
    parser.add_argument("--batch", type=int, default=20, help="turns per batched request")
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=100, help="requests in the enrichment run")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--llm-delay", type=float, default=0.0)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--api-workers", type=int, default=1,
                        help="API processes sharing the port (API_WORKERS)")
    args = parser.parse_args()
    print(f"ingestion: {args.clients} clients, {args.api_workers} API process(es), hashing "
          f"embedder, loopback; Redis, API, workers and clients share the machine's cores "
          f"with other work")
    env = {"EMBEDDING_PROVIDER": "hashing", "LOG_LEVEL": "ERROR",
           "DEDUPLICATION_DISTANCE_THRESHOLD": "0", "EXTRACTION_DEBOUNCE_SECONDS": "30"}
    n, batch = args.requests, args.batch
    api_env = {**env, "API_WORKERS": str(args.api_workers)}
    with temporary_redis(persistent=False) as redis, api_process(redis.url, **api_env) as url:
        costs = Costs(url, redis.pid, redis.url)
        asyncio.run(load(url, "/ingestion/memory",
                         [ingestion_body(10**6 + i, 1, i) for i in range(200)], args.clients))
        runs = [
            ("ingestion, 1 turn/request, 1 client", "/ingestion/memory", [
                ingestion_body(2 * 10**6 + i, 1, i % args.users)
                for i in range(args.sequential)], 1, 1),
            (f"ingestion, 1 turn/request, {args.clients} clients", "/ingestion/memory", [
                ingestion_body(i, 1, i % args.users) for i in range(n)], args.clients, 1),
            (f"ingestion, {batch} turns/request", "/ingestion/memory", [
                ingestion_body(n + i, batch, i % args.users) for i in range(n // batch)],
             args.clients, batch),
            ("process, 1 turn pair/request", "/v1/process", [
                process_body(i, i % args.users) for i in range(n)], args.clients, 2),
        ]
        for name, path, bodies, clients, per_request in runs:
            latencies, wall, cost = timed(costs, url, path, bodies, clients)
            line(name, latencies, wall, per_request, cost)
    if args.jobs <= 0:
        return
    with temporary_redis(persistent=False) as redis, stub_model(args.llm_delay) as model:
        env.update({"OPENAI_API_BASE": model, "OPENAI_API_KEY": "bench", "LLM_MAX_RETRIES": "0"})
        with api_process(redis.url, **env) as url, worker_processes(args.workers, {
                **env, "REDIS_URL": redis.url}):
            time.sleep(1.0)
            started = time.perf_counter()
            asyncio.run(load(url, "/ingestion/memory", [
                ingestion_body(i, batch, i % args.users) for i in range(args.jobs)],
                args.clients))
            deadline = started + args.timeout
            done = total = 0
            while time.perf_counter() < deadline:
                done, total = jobs_done(redis.url)
                if total and done >= total:
                    break
                time.sleep(0.1)
            seconds = time.perf_counter() - started
    turns_total = args.jobs * batch
    print(f"passive enrichment, stub model {args.llm_delay}s/call, {args.workers} workers: "
          f"{done}/{total} jobs, {turns_total} turns ({turns_total // 2} model calls) in "
          f"{seconds:.2f} s -> {turns_total / seconds:.0f} turns/s")


if __name__ == "__main__":
    main()
