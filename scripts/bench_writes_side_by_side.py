"""The operations issue 17 compares with AMS, side by side, one command for both servers.

Runs the same requests against every target, interleaved (each op on every target in
turn, the order rotating per round, so all see the same machine load and wait alike), single client, keep-alive, and
prints medians per target and the ratio of each target to the baseline (AMS when started).
Per round and target, in this order:

- ``put_new``: ``PUT /v1/working-memory/{session}``, 10 messages, a new session;
- ``put_next``: the same session's next turn: the 10 messages plus a new user/assistant
  pair (12), as a client that keeps the whole session sends it;
- ``get``: ``GET /v1/working-memory/{session}``;
- ``create``: ``POST /v1/long-term-memory/``, 10 new memories, ``deduplicate: true``;
- ``search``: ``POST /v1/long-term-memory/search``, the server's default mode, tenant-filtered;
- ``create_searchable``: from sending the create until its 10 memories are searchable (ours:
  the create's own time; a started AMS: until its background task wrote the last of them).
- with ``--accepted-create``: ``create_async``, the same create of 10 other memories with
  ``Prefer: respond-async`` (ours answers 202 once they and their indexing task are in
  Redis; AMS ignores the header and answers as always), and ``create_async_searchable``
  (until the last of them is written, polled in Redis). Needs our worker (no ``--no-worker``).

What a 2xx means differs (printed with the figures): AMS answers a create before indexing
(a background task embeds and indexes the memories afterwards), ours answers once they are
indexed and searchable. Both store working memory before answering and schedule promotion.

Targets: ``--tree PATH`` (repeat; a checkout of this project, started here with a worker),
``--ams PATH`` (an ``agent-memory`` executable of ``agent-memory-server``, started here with
its task worker; see docs/benchmarks.md for installing 0.15.2 beside the project) and
``--url [LABEL=]URL`` (repeat; any running AMS-compatible server, CPU not measured). Started
servers share one embedding stub; AMS shares the first tree's Redis (own key prefixes).

After each request the script waits until the server's processes stop using CPU, so no
request is timed while the previous one's after-answer work (AMS runs its background
tasks inside the API process) still runs. CPU per request (``/proc``: the API process, its
worker and their children, from the request until that work is done) is printed for
started servers: on a shared machine it moves less than latency.

    .venv/bin/python scripts/bench_writes_side_by_side.py --tree . --ams /work/ams-venv/bin/agent-memory
    .venv/bin/python scripts/bench_writes_side_by_side.py --tree . --tree /tmp/main-checkout
    .venv/bin/python scripts/bench_writes_side_by_side.py --url ours=http://127.0.0.1:8000 \\
        --url ams=http://127.0.0.1:8001 --baseline ams
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from redis.asyncio import Redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent_memory.embedded_redis import free_port, temporary_redis  # noqa: E402
from scripts._bench import servers  # noqa: E402
from scripts._bench.cpu import children, cpu_seconds  # noqa: E402
from scripts._bench.http import Connection  # noqa: E402

OPS = ("put_new", "put_next", "get", "create", "search")
ACCEPTED = "create_async"
MEANING = {
    "ours": "create: indexed and searchable before the 2xx (create_async: 202 once the "
            "memories and their indexing task are in Redis); PUT: stored, promotion scheduled",
    "ams": "create: 2xx before indexing (a background task embeds and indexes afterwards); "
           "PUT: stored, promotion scheduled",
    "url": "(a server given by URL: see its documentation)",
}

_BASE = datetime(2026, 1, 1, tzinfo=UTC)


def _message(n: int, i: int) -> dict[str, Any]:
    return {"id": f"m-{n}-{i}", "role": "user" if i % 2 == 0 else "assistant",
            "created_at": (_BASE + timedelta(seconds=n * 100 + i)).isoformat(),
            "content": f"message {i} of session {n}: planning a trip to Lisbon in May with a "
                       f"budget of {100 * i} euros"}


def requests(conn: Connection, n: int, tag: str) -> dict[str, bytes]:
    """The prepared requests of round ``n`` (same bodies for every target)."""
    user = f"user-{n % 50}"
    session = f"sbs-{tag}-{n}"
    first = [_message(n, i) for i in range(10)]
    put = {"session_id": session, "namespace": "sbs", "user_id": user}
    path = f"/v1/working-memory/{session}?namespace=sbs&user_id={user}"
    memories = [{"id": f"{tag}-{n}-{i}", "memory_type": "semantic", "namespace": "sbs",
                 "user_id": user, "text": f"fact {i} of batch {n} ({tag}): the user likes item "
                                          f"{n * 10 + i} and visits place {i}"}
                for i in range(10)]
    accepted = [{**m, "id": f"a-{m['id']}", "text": f"{m['text']}, and reads book {i}"}
                for i, m in enumerate(memories)]
    search = {"text": f"which place does the user visit for item {n * 10 + 3}", "limit": 10,
              "namespace": {"eq": "sbs"}, "user_id": {"eq": user}}
    return {
        "put_new": conn.prepare("PUT", path, {**put, "messages": first}),
        "put_next": conn.prepare("PUT", path, {**put, "messages": first + [
            _message(n, 10), _message(n, 11)]}),
        "get": conn.prepare("GET", path),
        "create": conn.prepare("POST", "/v1/long-term-memory/",
                               {"deduplicate": True, "memories": memories}),
        "search": conn.prepare("POST", "/v1/long-term-memory/search", search),
        ACCEPTED: conn.prepare("POST", "/v1/long-term-memory/",
                               {"deduplicate": True, "memories": accepted},
                               headers={"prefer": "respond-async"}),
    }


async def settle(pids: list[int], pause: float) -> None:
    """Wait until the API processes stop using CPU (their background work for the last
    request is done; at most a second), or ``pause`` seconds for a server we did not start: so no
    request is timed while the previous one's after-answer work still runs."""
    if not pids:
        await asyncio.sleep(pause)
        return
    deadline = time.monotonic() + 1.0
    last = cpu_seconds(pids)
    while time.monotonic() < deadline:
        await asyncio.sleep(0.025)  # /proc counts in 10 ms ticks
        now = cpu_seconds(pids)
        if now == last:
            return
        last = now


async def landed(redis: Redis, keys: list[str], t0: float) -> float:
    """Seconds from ``t0`` until every key exists (polled every half millisecond; 10 s
    at most)."""
    while await redis.exists(*keys) < len(keys):
        if time.perf_counter() - t0 > 10:
            raise SystemExit("AMS did not index a create within 10 s")
        await asyncio.sleep(0.0005)
    return time.perf_counter() - t0


async def bench(targets: list[servers.Target], rounds: int, warmup: int, pause: float,
                ops: tuple[str, ...] = OPS
                ) -> tuple[dict[str, dict[str, list[float]]], dict[str, dict[str, float]]]:
    """Latencies (ms) per target and op; CPU µs per request per target and op (all its
    processes, from the request until its after-answer work is done)."""
    conns = []
    for target in targets:
        u = urlparse(target.url)
        conns.append(Connection(u.hostname or "127.0.0.1", u.port or 80))
    pids = {t.label: [p for pid in t.pids for p in children(pid)] for t in targets}
    api = {t.label: children(t.pids[0]) if t.pids else [] for t in targets}
    redis_clients = {t.label: Redis.from_url(t.redis_url) for t in targets if t.redis_url}
    tag = uuid.uuid4().hex[:8]
    waits = tuple(f"{op}_searchable" for op in ("create", ACCEPTED) if op in ops)
    times: dict[str, dict[str, list[float]]] = {
        t.label: {op: [] for op in (*ops, *waits)} for t in targets if t.kind != "url"}
    times.update({t.label: {op: [] for op in ops} for t in targets if t.kind == "url"})
    cpu: dict[str, dict[str, float]] = {t.label: dict.fromkeys(ops, 0.0) for t in targets}
    for n in range(warmup + rounds):
        # Op by op, each op on every target in turn (the order rotating per round): each
        # server waits about as long between its requests as the others do.
        prepared = [requests(conn, n, tag) for conn in conns]
        turn = n % len(targets)
        order = [*range(turn, len(targets)), *range(turn)]
        for op in ops:
            for i in order:
                target, conn = targets[i], conns[i]
                c0 = cpu_seconds(pids[target.label]) if pids[target.label] else 0.0
                t0 = time.perf_counter()
                status, reply = await conn.send(prepared[i][op])
                took = time.perf_counter() - t0
                if status >= 300:
                    raise SystemExit(f"{target.label} {op}: HTTP {status} {reply[:300]!r}")
                if op in ("create", ACCEPTED) and target.kind != "url":
                    # When the 10 memories are searchable: ours before answering (a plain
                    # create); otherwise once the background task wrote them (RediSearch
                    # indexes a hash as it is written, so the key existing means searchable).
                    seen = took
                    if (target.kind == "ams" or op == ACCEPTED) and target.redis_url:
                        prefix = "a-" if op == ACCEPTED else ""
                        keys = [target.memory_key(f"{prefix}{tag}-{n}-{j}") for j in range(10)]
                        seen = await landed(redis_clients[target.label], keys, t0)
                    if n >= warmup:
                        times[target.label][f"{op}_searchable"].append(seen * 1000)
                # An accepted create's work runs in our worker: wait for it too.
                await settle(pids[target.label] if op == ACCEPTED else api[target.label], pause)
                if n >= warmup:
                    times[target.label][op].append(took * 1000)
                    if pids[target.label]:
                        cpu[target.label][op] += cpu_seconds(pids[target.label]) - c0
    for conn in conns:
        await conn.close()
    for client in redis_clients.values():
        await client.aclose()
    per_request = {label: {op: s / max(rounds, 1) * 1e6 for op, s in ops.items()}
                   for label, ops in cpu.items()}
    return times, per_request


def _parse_url(value: str) -> tuple[str, str]:
    label, sep, url = value.partition("=")
    return (label, url) if sep and not label.startswith("http") else (value, value)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", action="append", default=[], help="[LABEL=]URL of a running server")
    p.add_argument("--tree", action="append", default=[], type=Path,
                   help="a checkout of this project to start (repeat)")
    p.add_argument("--ams", type=Path, help="AMS's agent-memory executable, to start")
    p.add_argument("--ams-backend", choices=("docket", "asyncio"), default="docket",
                   help="AMS's --task-backend (docket: its default, with a task-worker)")
    p.add_argument("--baseline", help="label the ratios divide by (default: AMS when started)")
    p.add_argument("--rounds", type=int, default=200)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--pause", type=float, default=0.05,
                   help="seconds between requests to a --url server (started servers: until "
                        "their CPU use stops)")
    p.add_argument("--no-worker", action="store_true", help="start our servers without a worker")
    p.add_argument("--log", type=Path, help="append the started servers' output to this file")
    p.add_argument("--accepted-create", action="store_true",
                   help="also time create_async (Prefer: respond-async; needs our worker)")
    p.add_argument("--ops", type=lambda v: tuple(v.split(",")),
                   help=f"only these operations, comma-separated (default: {','.join(OPS)})")
    p.add_argument("--stub-floats", action="store_true",
                   help="the embedding stub answers float lists even when asked for base64")
    args = p.parse_args()
    if not args.url and not args.tree and not args.ams:
        args.tree = [ROOT]
    if args.ops and (unknown := set(args.ops) - {*OPS, ACCEPTED}):
        p.error(f"unknown operations: {', '.join(sorted(unknown))}")
    targets = [servers.Target(label, url, "url") for label, url in map(_parse_url, args.url)]
    with contextlib.ExitStack() as stack:
        shared: str | None = None
        if args.tree or args.ams:
            stub = stack.enter_context(servers.embedding_stub(not args.stub_floats))
        for i, tree in enumerate(args.tree):
            redis = stack.enter_context(temporary_redis(prefix="bench-sbs-"))
            shared = shared or redis.url
            port = free_port()
            pids = stack.enter_context(servers.ours(tree.resolve(), redis.url, stub, port,
                                                    worker=not args.no_worker, log=args.log))
            label = tree.name if tree.name and tree.name != "." else str(tree.resolve().name)
            targets.append(servers.Target(f"{label}#{i}" if any(
                t.label == label for t in targets) else label, f"http://127.0.0.1:{port}",
                "ours", pids, redis_url=redis.url))
        if args.ams:
            if shared is None:
                shared = stack.enter_context(temporary_redis(prefix="bench-sbs-ams-")).url
            port = free_port()
            pids = stack.enter_context(servers.ams(args.ams, shared, stub, port,
                                                   backend=args.ams_backend, log=args.log))
            targets.append(servers.Target("ams", f"http://127.0.0.1:{port}", "ams", pids,
                                          redis_url=shared))
        if args.accepted_create and args.no_worker and args.tree:
            p.error("--accepted-create needs our worker: drop --no-worker")
        ops = (*OPS, ACCEPTED) if args.accepted_create else OPS
        if args.ops:
            ops = tuple(op for op in ops if op in args.ops)
        times, cpu = asyncio.run(bench(targets, args.rounds, args.warmup, args.pause, ops))
    report(targets, times, cpu, args)
    return 0


def report(targets: list[servers.Target], times: dict[str, dict[str, list[float]]],
           cpu: dict[str, dict[str, float]], args: argparse.Namespace) -> None:
    """Medians (p90), API CPU per request, ratios to the baseline, and what a 2xx means."""
    print(f"single client, {args.rounds} rounds interleaved (+{args.warmup} warm-up), ms"
          + (", stub answers float lists" if args.stub_floats else ""))
    ours = [t.label for t in targets if t.kind == "ours"]
    if len(ours) > 1 and any(t.kind == "ams" for t in targets):
        # AMS's writes and its worker's polling land in that Redis too: the trees' creates
        # compare only with the order swapped (or without --ams).
        print(f"note: {ours[0]} shares its Redis with AMS; the other trees have their own")
    baseline = args.baseline or next((t.label for t in targets if t.kind == "ams"), None)
    medians = {t.label: {op: statistics.median(xs) for op, xs in times[t.label].items()}
               for t in targets}
    for t in targets:
        print(f"{t.label} ({t.url}): {MEANING[t.kind]}")
        for op in times[t.label]:
            xs = sorted(times[t.label][op])
            line = f"  {op:<9} p50 {medians[t.label][op]:7.2f}  p90 {xs[int(len(xs) * 0.9)]:7.2f}"
            if t.pids and op in cpu[t.label]:
                line += f"  CPU {cpu[t.label][op]:7.0f} µs/request"
            if baseline and t.label != baseline and op in medians.get(baseline, {}):
                line += f"  {medians[t.label][op] / medians[baseline][op]:.2f}x {baseline}"
            if (op in ("create", ACCEPTED) and baseline and t.label != baseline
                    and "create_searchable" in medians.get(baseline, {})):
                line += (f"  ({medians[t.label][op] / medians[baseline]['create_searchable']:.2f}x"
                         f" {baseline}'s create until searchable)")
            print(line)


if __name__ == "__main__":
    sys.exit(main())
