"""``agent-memory api`` as deployed: its own process, the in-process worker beside it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx

from agent_memory.embedded_redis import free_port
from agent_memory.settings import Settings


def _wait_healthy(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        try:
            if httpx.get(f"{base}/v1/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("the API did not answer")


def test_api_with_its_worker_serves_and_stops_cleanly(settings: Settings) -> None:
    port = free_port()
    env = {**os.environ, "REDIS_URL": settings.effective_redis_url(), "PORT": str(port),
           "EMBEDDING_PROVIDER": "hashing", "LOG_LEVEL": "WARNING", "API_WORKERS": "1"}
    process = subprocess.Popen([sys.executable, "-m", "agent_memory", "api", "--with-worker"],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base, process)
        body = {"namespace": "cli", "messages": [{"role": "user", "content": "hello"}]}
        assert httpx.put(f"{base}/v1/working-memory/s1", json=body).status_code == 200
        got = httpx.get(f"{base}/v1/working-memory/s1", params={"namespace": "cli"}).json()
        assert [m["content"] for m in got["messages"]] == ["hello"]
        assert "agent_memory_http_requests_total" in httpx.get(f"{base}/metrics").text
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=15)
        finally:
            if process.poll() is None:
                process.kill()
    assert code == 0, process.stderr.read().decode() if process.stderr else ""
