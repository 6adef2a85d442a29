"""``agent-memory mcp`` as users run it: the embedded default with no configuration, a
running API's local Redis shared rather than restarted, HTTP stopped cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters
from redis.asyncio import Redis

from agent_memory.embedded_redis import free_port
from tests.mcp.conftest import AGENT_MEMORY, http_client, result


def _local_env(data: Path, redis_port: int) -> dict[str, str]:
    """No REDIS_URL: the embedded Redis in ``data`` on ``redis_port``."""
    return {"AGENT_MEMORY_DATA_DIR": str(data), "EMBEDDED_REDIS_PORT": str(redis_port),
            "EMBEDDING_PROVIDER": "hashing", "LOG_LEVEL": "WARNING", "GC_TUNING": "false"}


def _stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()


def _wait(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer")


async def test_stdio_on_the_embedded_default(tmp_path: Path) -> None:
    """With no configuration at all the command starts the local Redis, serves, and leaves
    the data behind when the client goes away (a second run finds it)."""
    env = _local_env(tmp_path, free_port())
    params = StdioServerParameters(command=AGENT_MEMORY, args=["mcp"], env=env)
    async with Client(params, read_timeout_seconds=60) as client:
        created = result(await client.call_tool("create_long_term_memories", {"memories": [
            {"id": "m1", "text": "The wifi password is on the fridge"}]}))
        assert created["ids"] == ["m1"]
    async with Client(params, read_timeout_seconds=60) as client:
        found = result(await client.call_tool("get_long_term_memory", {"memory_id": "m1"}))
        assert found["text"] == "The wifi password is on the fridge"


async def test_mcp_shares_a_running_apis_local_redis(tmp_path: Path) -> None:
    """An ``agent-memory api`` already running on the local Redis keeps running when a
    desktop client starts and stops ``agent-memory mcp``: both see the same memories."""
    redis_port, api_port = free_port(), free_port()
    env = {**os.environ, **_local_env(tmp_path, redis_port), "PORT": str(api_port)}
    env.pop("REDIS_URL", None)
    api = subprocess.Popen([sys.executable, "-m", "agent_memory", "api", "--no-worker"],
                           env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{api_port}"
    try:
        _wait(f"{base}/v1/health", api)
        body = {"memories": [{"id": "m1", "text": "Parcel lockers are by the station"}]}
        assert httpx.post(f"{base}/v1/long-term-memory/", json=body).status_code == 200
        params = StdioServerParameters(command=AGENT_MEMORY, args=["mcp", "--no-worker"],
                                       env=_local_env(tmp_path, redis_port))
        async with Client(params, read_timeout_seconds=60) as client:
            got = result(await client.call_tool("get_long_term_memory", {"memory_id": "m1"}))
            assert got["text"] == "Parcel lockers are by the station"
        # The MCP process is gone; the API's Redis is still the same server, still up.
        assert httpx.get(f"{base}/v1/long-term-memory/m1").status_code == 200
        redis = Redis(port=redis_port)
        assert await redis.ping()
        await redis.aclose()
    finally:
        assert _stop(api) == 0


async def test_streamable_http_process_serves_and_stops_cleanly(redis_url: str,
                                                                redis: Redis) -> None:
    """``agent-memory mcp --transport streamable-http --port N`` serves /mcp and exits 0 on
    SIGTERM."""
    port = free_port()
    env = {**os.environ, "REDIS_URL": redis_url, "EMBEDDING_PROVIDER": "hashing",
           "LOG_LEVEL": "WARNING"}
    process = subprocess.Popen([AGENT_MEMORY, "mcp", "--transport", "streamable-http",
                                "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    try:
        _wait(f"http://127.0.0.1:{port}/mcp", process)
        async with http_client(f"http://127.0.0.1:{port}/mcp") as client:
            clock = result(await client.call_tool("get_current_datetime", {}))
            assert clock["iso_utc"].endswith("Z")
    finally:
        assert _stop(process) == 0, process.stderr.read().decode() if process.stderr else ""
