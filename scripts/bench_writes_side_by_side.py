"""The two writes issue 17 compares with AMS, side by side against two (or more) servers.

Runs the same requests, interleaved round-robin so both servers see the same machine
load, against each base URL, single client, keep-alive, and prints medians per target:

- ``PUT /v1/working-memory/{session}`` with 10 messages (a new session each time);
- ``POST /v1/long-term-memory/`` with 10 new memories and ``deduplicate: true``.

Targets: ``--url`` (repeat; any AMS-compatible server, e.g. an AMS 0.15 next to ours on the
same Redis and embedding endpoint) and/or ``--tree`` (repeat; a checkout of this project,
e.g. a ``git worktree`` of main: its API is started here). Started servers get their own
embedded Redis each and share one OpenAI-compatible embedding stub (separate process), as
AMS would need one: ``EMBEDDING_PROVIDER=openai``.

    .venv/bin/python scripts/bench_writes_side_by_side.py --tree . --tree /tmp/main-checkout
    .venv/bin/python scripts/bench_writes_side_by_side.py --url http://127.0.0.1:8000 \\
        --url http://127.0.0.1:8001 --rounds 300
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent_memory.embedded_redis import free_port, temporary_redis  # noqa: E402
from scripts._bench.http import Connection  # noqa: E402

_STUB = """
import sys, time
sys.path.insert(0, {root!r})
from tests.support.stub_openai import StubOpenAI, StubServer
stub = StubOpenAI()
stub.dims = 1536  # text-embedding-3-small, what AMS expects by default
stub.honour_base64 = {base64}
with StubServer(stub) as s:
    print(s.port, flush=True)
    while True:
        time.sleep(3600)
"""


@contextlib.contextmanager
def embedding_stub(base64: bool = True) -> Iterator[str]:
    """An OpenAI-compatible embedding endpoint in its own process; yields its /v1 URL.
    ``base64``: answer base64 when asked (as OpenAI does), else always float lists (as
    some compatible servers do)."""
    proc = subprocess.Popen([sys.executable, "-c", _STUB.format(root=str(ROOT), base64=base64)],
                            stdout=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())  # type: ignore[union-attr]
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextlib.contextmanager
def tree_server(tree: Path, stub_url: str) -> Iterator[str]:
    """This project's API from checkout ``tree``, on its own embedded Redis."""
    with temporary_redis(prefix="bench-sbs-") as redis:
        port = free_port()
        env = {**os.environ, "REDIS_URL": redis.url, "PORT": str(port), "LOG_LEVEL": "WARNING",
               "EMBEDDING_PROVIDER": "openai", "OPENAI_API_BASE": stub_url,
               "OPENAI_API_KEY": "stub", "AUTH_MODE": "disabled", "USE_DOCKET": "false",
               "PYTHONPATH": str(tree)}
        proc = subprocess.Popen([sys.executable, "-m", "agent_memory", "api", "--no-worker"],
                                cwd=tree, env=env, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            import urllib.request
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(f"{url}/v1/health", timeout=1).read()
                    break
                except OSError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise RuntimeError(f"API from {tree} did not start") from None
                    time.sleep(0.1)
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def _put_body(n: int, tag: str) -> tuple[str, dict]:
    session = f"sbs-{tag}-{n}"
    return session, {
        "session_id": session, "namespace": "sbs", "user_id": f"user-{n % 50}",
        "messages": [{"role": "user" if i % 2 == 0 else "assistant",
                      "content": f"message {i} of session {n}: planning a trip to Lisbon "
                                 f"in May with a budget of {100 * i} euros"}
                     for i in range(10)]}


def _create_body(n: int, tag: str) -> dict:
    return {"deduplicate": True, "memories": [
        {"id": f"{tag}-{n}-{i}", "text": f"fact {i} of batch {n} ({tag}): the user likes "
                                         f"item {n * 10 + i} and visits place {i}",
         "namespace": "sbs", "user_id": f"user-{n % 50}", "memory_type": "semantic"}
        for i in range(10)]}


async def _bench(urls: list[str], rounds: int, warmup: int) -> dict[str, dict[str, list[float]]]:
    conns = []
    for url in urls:
        u = urlparse(url)
        conns.append(Connection(u.hostname or "127.0.0.1", u.port or 80))
    tag = uuid.uuid4().hex[:8]
    out: dict[str, dict[str, list[float]]] = {u: {"put_wm_10": [], "create_10_dedup": []}
                                               for u in urls}
    for n in range(warmup + rounds):
        for url, conn in zip(urls, conns, strict=True):
            session, body = _put_body(n, tag)
            raw_put = conn.prepare("PUT", f"/v1/working-memory/{session}?user_id={body['user_id']}"
                                   "&namespace=sbs", body)
            raw_create = conn.prepare("POST", "/v1/long-term-memory/", _create_body(n, tag))
            for name, raw in (("put_wm_10", raw_put), ("create_10_dedup", raw_create)):
                t0 = time.perf_counter()
                status, reply = await conn.send(raw)
                took = time.perf_counter() - t0
                if status >= 300:
                    raise SystemExit(f"{url} {name}: HTTP {status} {reply[:300]!r}")
                if n >= warmup:
                    out[url][name].append(took * 1000)
    for conn in conns:
        await conn.close()
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", action="append", default=[], help="a running server (repeat)")
    p.add_argument("--tree", action="append", default=[], type=Path,
                   help="a checkout of this project to start (repeat)")
    p.add_argument("--rounds", type=int, default=200)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--stub-floats", action="store_true",
                   help="the embedding stub answers float lists even when asked for base64")
    args = p.parse_args()
    if not args.url and not args.tree:
        args.tree = [ROOT]
    with contextlib.ExitStack() as stack:
        urls = list(args.url)
        names = {u: u for u in urls}
        if args.tree:
            stub = stack.enter_context(embedding_stub(not args.stub_floats))
            for tree in args.tree:
                url = stack.enter_context(tree_server(tree.resolve(), stub))
                names[url] = f"{tree} ({url})"
                urls.append(url)
        results = asyncio.run(_bench(urls, args.rounds, args.warmup))
    print(f"single client, {args.rounds} rounds interleaved (+{args.warmup} warm-up), medians ms"
          + (", stub answers float lists" if args.stub_floats else ""))
    for url in urls:
        figs = results[url]
        line = "  ".join(f"{op} p50 {statistics.median(xs):.2f} (p90 "
                         f"{sorted(xs)[int(len(xs) * 0.9)]:.2f})" for op, xs in figs.items())
        print(f"{names[url]}: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
