"""Start an embedded Redis and the API in its own process; time requests; print figures."""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

from agent_memory.embedded_redis import free_port


class ApiUrl(str):
    """The base URL of an API started by :func:`api_process`, with the pid it runs as (its
    API worker processes, if any, are that pid's children)."""

    pid: int


@contextlib.contextmanager
def api_process(redis_url: str, **env: str) -> Iterator[ApiUrl]:
    """Run ``agent-memory api --no-worker`` in a child process; yield its base URL."""
    port = free_port()
    with server_process(["api", "--no-worker"], port, "/v1/health",
                        {"REDIS_URL": redis_url, "PORT": str(port), **env}) as url:
        yield url


@contextlib.contextmanager
def server_process(args: list[str], port: int, probe: str, env: dict[str, str],
                   *, answers_with_error: bool = False) -> Iterator[ApiUrl]:
    """Run ``agent-memory ARGS`` (hashing embedder) and yield its base URL once ``probe``
    answers; ``answers_with_error``: an HTTP error status also counts as up (e.g. an MCP
    endpoint refusing a plain GET)."""
    child_env = {**os.environ, "EMBEDDING_PROVIDER": "hashing", "LOG_LEVEL": "WARNING", **env}
    proc = subprocess.Popen([sys.executable, "-m", "agent_memory", *args],
                            env=child_env, stderr=subprocess.DEVNULL)
    url = ApiUrl(f"http://127.0.0.1:{port}")
    url.pid = proc.pid
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}{probe}", timeout=1).read()
            break
        except OSError as exc:  # HTTPError is one: an error status means "not yet" unless
            if answers_with_error and isinstance(exc, urllib.error.HTTPError):  # it is the answer
                break
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError(f"agent-memory {args[0]} did not start") from None
            time.sleep(0.1)
    try:
        yield url
    finally:
        stop_processes([proc])


def stop_processes(procs: list[subprocess.Popen[bytes]], timeout: float = 10) -> None:
    """Terminate every process, then wait for each (killing one that outlives ``timeout``)."""
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()


def percentile(values: list[float], pct: float) -> float:
    """The ``pct`` percentile (0-100) by nearest rank."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def report(name: str, seconds: list[float], wall: float | None = None) -> dict[str, float]:
    """Print and return p50/p95/p99 in ms and requests per second."""
    wall = wall if wall is not None else sum(seconds)
    figures = {
        "p50_ms": statistics.median(seconds) * 1000,
        "p95_ms": percentile(seconds, 95) * 1000,
        "p99_ms": percentile(seconds, 99) * 1000,
        "rps": len(seconds) / wall if wall else 0.0,
    }
    print(f"{name:<28} n={len(seconds):<6} p50={figures['p50_ms']:7.3f} ms  "
          f"p95={figures['p95_ms']:7.3f} ms  p99={figures['p99_ms']:7.3f} ms  "
          f"{figures['rps']:8.0f} req/s")
    return figures
