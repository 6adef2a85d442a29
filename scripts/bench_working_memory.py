"""Working-memory latency over loopback with one client: PUT of 10 messages, GET, append.

Starts its own embedded Redis (append-only on, as in production) and the API in a separate
process (uvicorn + uvloop + httptools), then drives it with one keep-alive HTTP connection.

    .venv/bin/python scripts/bench_working_memory.py [--requests 2000]
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent_memory.embedded_redis import temporary_redis  # noqa: E402
from scripts._bench.harness import api_process, report  # noqa: E402


def _timed(conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None) -> float:
    headers = {"content-type": "application/json"} if body is not None else {}
    start = time.perf_counter()
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    response.read()
    elapsed = time.perf_counter() - start
    if response.status != 200:
        raise RuntimeError(f"{method} {path} -> {response.status}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000, help="timed requests per operation")
    args = parser.parse_args()
    messages = [{"role": "user" if i % 2 == 0 else "assistant",
                 "content": f"Message {i}: the user asked about flights to Lisbon in May.",
                 "id": f"msg-{i}"} for i in range(10)]
    put_body = json.dumps({"messages": messages, "namespace": "bench", "user_id": "u1"}).encode()
    with temporary_redis(persistent=True) as redis, api_process(redis.url) as url:
        host, port = url.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port))
        for _ in range(200):  # warm up: connections, caches, JIT-free but allocator-warm
            _timed(conn, "PUT", "/v1/working-memory/warm?x=1", put_body)
        n = args.requests
        print(f"working memory, one client, {n} requests per operation, loopback")
        sessions = [f"s{i % 100}" for i in range(n)]
        put = [_timed(conn, "PUT", f"/v1/working-memory/{s}", put_body) for s in sessions]
        get = [_timed(conn, "GET", f"/v1/working-memory/{s}?namespace=bench&user_id=u1", None)
               for s in sessions]
        append = []
        for i in range(n):
            body = json.dumps({"namespace": "bench", "user_id": "u1", "messages": [
                {"role": "user", "content": f"follow-up {i}", "id": f"a{i}"}]}).encode()
            append.append(_timed(conn, "POST", f"/v1/working-memory/ap{i % 50}/messages", body))
        report("PUT 10 messages", put)
        report("GET 10 messages", get)
        report("append 1 message", append)


if __name__ == "__main__":
    main()
