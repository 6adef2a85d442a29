"""Profile-memory read latency with 50 memories per scope (goal: read p50 <= 2 ms).

Starts a throw-away embedded Redis and one API process (``agent-memory api``, real uvicorn
on loopback, auth off), stores 50 memories in each of the six scopes of one user (mixed
sources, domains, TTLs and conflicting statements, so every merge rule runs), then times
sequential requests over one keep-alive connection:

- ``POST /memory/read``: classify the purpose (rules), check the policy, read and merge
  the scope's 50 memories, store a grant, append the audit event.
- ``POST /memory/read/continue``: find the grant, re-read and merge.
- ``POST /memory``: one create, for scale.
- ``GET /v1/health``: the noise control (no Redis, no body): what the machine and the
  HTTP stack alone cost at that moment.

Reads cycle over the six scopes. The machine may be shared: quote medians.

    .venv/bin/python scripts/bench_profile.py
    .venv/bin/python scripts/bench_profile.py --reads 5000 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent_memory.embedded_redis import temporary_redis
from scripts._bench.harness import api_process, percentile
from scripts._bench.http import Connection

SOURCES = ["explicit_user_input", "inferred", "system", "conversation", "user_feedback"]
DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
PURPOSES = {"preferences": "generate food recommendations", "constraints": "recommend a venue",
            "communication": "draft a reply email", "accessibility": "adapt for a screen reader",
            "schedule": "book a meeting", "attention": "personalize notification timing"}


def value_for(scope: str, i: int) -> Any:
    """The ``i``-th value of a scope: the scope's shapes in turn, with repeats and flips."""
    if scope in ("preferences", "communication") and i % 2 == 0:
        items = [f"item{(i * 7 + k) % 40}" for k in range(3)]
        return {"likes": items[:2], "dislikes": items[2:], "settings": {f"k{i % 9}": i}}
    if scope == "schedule" and i % 3:
        return [{"day": DAYS[(i + k) % 7], "start": f"{8 + k:02d}:00", "end": f"{10 + k:02d}:30"}
                for k in range(2)]
    if scope in ("constraints", "communication", "accessibility", "attention") and i % 2:
        return [f"rule {(i * 3) % 25}", f"rule {(i * 5) % 25}"]
    return {f"flag{i % 12}": bool(i % 2), f"key{i % 7}": f"v{i}"}


async def seed(conn: Connection, user: str, per_scope: int) -> None:
    for scope in PURPOSES:
        for i in range(per_scope):
            body = {"user_id": user, "scope": scope, "domain": f"d{i % 3}",
                    "source": SOURCES[i % len(SOURCES)], "value_json": value_for(scope, i)}
            if i % 4 == 0:
                body["ttl_days"] = 30
            status, text = await conn.request("POST", "/memory", body)
            assert status == 200, text


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def timed(conn: Connection, raws: list[bytes]) -> list[float]:
    out = []
    for raw in raws:
        start = time.perf_counter()
        status, text = await conn.send(raw)
        out.append(time.perf_counter() - start)
        assert status == 200, text
    return out


async def run(url: str, pid: int, reads: int, rounds: int,
              per_scope: int) -> dict[str, list[float]]:
    host, port = url.removeprefix("http://").split(":")
    conn = Connection(host, int(port))
    await seed(conn, "bench-user", per_scope)
    scopes = list(PURPOSES)
    read_raws = [conn.prepare("POST", "/memory/read", {
        "user_id": "bench-user", "scope": scopes[i % 6], "purpose": PURPOSES[scopes[i % 6]]})
        for i in range(reads)]
    tokens = []
    for scope in scopes:
        _, text = await conn.request("POST", "/memory/read", {
            "user_id": "bench-user", "scope": scope, "purpose": PURPOSES[scope]})
        tokens.append(json.loads(text)["revocation_token"])
    continue_raws = [conn.prepare("POST", "/memory/read/continue",
                                  {"revocation_token": tokens[i % 6]}) for i in range(reads)]
    create_raws = [conn.prepare("POST", "/memory", {
        "user_id": f"other-{i}", "scope": "preferences", "source": "inferred",
        "value_json": {"likes": ["tea"]}}) for i in range(reads)]
    await timed(conn, read_raws[:300])  # warm-up
    health_raws = [conn.prepare("GET", "/v1/health") for _ in range(reads)]
    results: dict[str, list[float]] = {"read": [], "continue": [], "create": [], "health": []}
    per_round: dict[str, list[float]] = {k: [] for k in results}
    cpu: dict[str, float] = {k: 0.0 for k in results}
    for _ in range(rounds):  # interleaved, so machine noise hits each kind alike
        for name, raws in (("read", read_raws), ("continue", continue_raws),
                           ("create", create_raws), ("health", health_raws)):
            before = cpu_seconds(pid)
            got = await timed(conn, raws)
            cpu[name] += cpu_seconds(pid) - before
            results[name] += got
            per_round[name].append(statistics.median(got) * 1000)
    await conn.close()
    for name, seconds in results.items():
        rounds_txt = ", ".join(f"{m:.3f}" for m in per_round[name])
        print(f"{name:<9} n={len(seconds):<6} p50={statistics.median(seconds) * 1000:6.3f} ms  "
              f"p95={percentile(seconds, 95) * 1000:6.3f} ms  "
              f"p99={percentile(seconds, 99) * 1000:6.3f} ms  "
              f"API CPU/request={cpu[name] / len(seconds) * 1000:6.3f} ms  "
              f"(round p50s: {rounds_txt})")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=2000, help="requests per kind per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--per-scope", type=int, default=50)
    args = parser.parse_args()
    with temporary_redis(prefix="am-bench-profile-") as server, \
            api_process(server.url, GC_TUNING="true") as url:
        print(f"{args.per_scope} memories in each of 6 scopes; sequential requests over one "
              "keep-alive connection to one API process")
        print(f"load average before: {os.getloadavg()[0]:.2f} (2-core machine, shared)")
        asyncio.run(run(url, url.pid, args.reads, args.rounds, args.per_scope))
        print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
