"""Prompt-assembly latency over loopback with one client (``POST /v1/memory/prompt``).

Starts its own embedded Redis and the API in a separate process (hashing embedder), stores a
session of 300 messages and 1,000 long-term memories, then times prompts that exercise each
part: session only under a tight budget, session plus ``long_term_search: true``, and a
hydrate-style search of 100 memories that the budget has to cut. Also times the pure
assembly step (no HTTP, no Redis) for 100 hits.

    .venv/bin/python scripts/bench_prompt.py [--requests 500]
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent_memory.models.long_term import MemoryRecordResult  # noqa: E402
from agent_memory.models.working_memory import MemoryMessage  # noqa: E402
from agent_memory.services.prompt import assemble  # noqa: E402
from agent_memory.embedded_redis import temporary_redis  # noqa: E402
from scripts._bench.harness import api_process, report  # noqa: E402

TOPICS = ["flights to Lisbon", "green tea", "chess openings", "sailing knots", "bread baking",
          "jazz records", "hiking trails", "tax forms", "piano lessons", "garden tomatoes"]


def _call(conn: http.client.HTTPConnection, method: str, path: str,
          body: object) -> tuple[float, dict]:
    payload = json.dumps(body).encode()
    start = time.perf_counter()
    conn.request(method, path, body=payload, headers={"content-type": "application/json"})
    response = conn.getresponse()
    data = response.read()
    elapsed = time.perf_counter() - start
    if response.status != 200:
        raise RuntimeError(f"{method} {path} -> {response.status}: {data[:300]!r}")
    return elapsed, json.loads(data)


def _seed(conn: http.client.HTTPConnection) -> None:
    messages = [{"role": "user" if i % 2 == 0 else "assistant", "id": f"m{i}",
                 "content": f"Turn {i}: we discussed {TOPICS[i % 10]} and what to do next week."}
                for i in range(300)]
    _call(conn, "PUT", "/v1/working-memory/chat?context_window_max=10000000",
          {"messages": messages, "namespace": "bench", "user_id": "u1",
           "context": "The user plans a trip and likes tea. " * 10})
    for start in range(0, 1000, 250):
        memories = [{"id": f"mem{i}", "namespace": "bench", "user_id": "u1", "session_id": "old",
                     "text": f"Fact {i}: the user cares about {TOPICS[i % 10]} ({i % 7} notes)."}
                    for i in range(start, start + 250)]
        _call(conn, "POST", "/v1/long-term-memory/", {"memories": memories, "deduplicate": False})


def _assembly_only(n: int, words: int) -> list[float]:
    """Time ``assemble`` alone: 300 messages, 100 hits of about ``words`` words each."""
    history = [MemoryMessage(role="user", content=f"Turn {i}: about {TOPICS[i % 10]}.", id=str(i))
               for i in range(300)]
    hits = [MemoryRecordResult(id=f"mem{i}", text=f"Fact {i}: the user cares about "
                               f"{TOPICS[i % 10]}. " + f"detail{i} " * words) for i in range(100)]
    out = []
    for _ in range(n):
        start = time.perf_counter()
        assemble("what should I pack for Lisbon?", "summary " * 50, history, hits, 60000)
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=500, help="timed requests per case")
    args = parser.parse_args()
    session = {"session_id": "chat", "namespace": "bench", "user_id": "u1"}
    cases = {
        "session only, 2k budget": {
            "query": "what did we decide?", "session": {**session, "context_window_max": 2000}},
        "session + search true": {
            "query": "what tea does the user like?", "session": session,
            "long_term_search": True},
        "search 100 hits, 3k budget": {
            "query": "what does the user care about?",
            "session": {**session, "context_window_max": 3000},
            "long_term_search": {"limit": 100}},
        "hydrate 100 hits": {
            "query": "what does the user care about?",
            "long_term_search": {"limit": 100, "namespace": {"eq": "bench"}}},
    }
    with temporary_redis(persistent=True) as redis, api_process(redis.url) as url:
        host, port = url.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port))
        _seed(conn)
        print(f"prompt assembly, one client, {args.requests} requests per case, loopback")
        for name, body in cases.items():
            for _ in range(20):  # warm up the token cache and the connection
                _call(conn, "POST", "/v1/memory/prompt", body)
            timings, last = [], {}
            for _ in range(args.requests):
                elapsed, last = _call(conn, "POST", "/v1/memory/prompt", body)
                timings.append(elapsed)
            report(name, timings)
            print(f"{'':<28} tokens_used={last['tokens_used']} of {last['token_budget']}, "
                  f"messages_omitted={last['messages_omitted']}, "
                  f"memories={len(last['long_term_memories'] or [])}, "
                  f"memories_omitted={last['memories_omitted']}")
    report("assemble(), 100 short hits", _assembly_only(args.requests, 5))
    report("assemble(), 100 x ~600 tok", _assembly_only(max(args.requests // 10, 10), 300))


if __name__ == "__main__":
    main()
