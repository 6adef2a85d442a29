"""Fault checks against real processes; prints one line per check and exits 1 on a failure.

1. Redis SIGKILLed mid-load, restarted 2 s later: the API answers 503 (JSON) meanwhile, never
   a dropped connection or a 500, recovers without a restart of its own, and every write it
   acknowledged is stored afterwards (the embedded Redis runs with append-only persistence).
2. A worker SIGKILLed in the middle of a model call: the task is redelivered to another worker
   and completes once (no duplicate memories).
3. A slow and a failing model endpoint: requests that use the model finish within the
   timeout budget with a fallback or a clear error; nothing hangs.
4. A 50 MB body and a search limit of 10**9: clean 4xx.
5. Bodies that do not arrive (issue 12): a declared 100 MB Content-Length is answered 413
   before any of it is sent; a body declared as 100 bytes of which 8 arrive gets 408 after
   REQUEST_BODY_TIMEOUT_SECONDS and the connection is closed.
6. The memory probe (``scripts/probe_memory.py``): the largest accepted bodies on every write
   route keep the API and the worker under 1 GB resident (skipped with ``--no-memory-probe``).

    .venv/bin/python scripts/fault_check.py [--no-memory-probe]
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent_memory.embedded_redis import temporary_redis  # noqa: E402
from scripts._bench.harness import api_process  # noqa: E402
from tests.support.stub_openai import StubServer, reply_json  # noqa: E402

RESULTS: list[tuple[str, bool, str]] = []


def check(name: str, ok: bool, detail: str) -> None:
    RESULTS.append((name, ok, detail))
    print(f"[{'PASS' if ok else 'FAIL'}] {name}: {detail}", flush=True)


async def redis_killed_mid_load(redis_server, url: str) -> None:  # type: ignore[no-untyped-def]
    acked: list[str] = []
    statuses: dict[int, int] = {}
    stop = time.monotonic() + 6.0

    async def writer(i: int) -> None:
        async with httpx.AsyncClient(base_url=url, timeout=10) as http:
            n = 0
            while time.monotonic() < stop:
                mid = f"w{i}-{n}"
                n += 1
                try:
                    r = await http.post(f"/v1/working-memory/fault-{i}/messages", json={
                        "messages": [{"role": "user", "content": f"note {mid}", "id": mid}]})
                    status = r.status_code
                    if status == 503:
                        assert r.json()["error"]["code"] == "storage_unavailable"
                except httpx.HTTPError:
                    status = 0  # a dropped connection
                statuses[status] = statuses.get(status, 0) + 1
                if status == 200:
                    acked.append(mid)
                await asyncio.sleep(0.005)

    async def chaos() -> None:
        await asyncio.sleep(2.0)
        redis_server.kill()
        await asyncio.sleep(2.0)
        redis_server.start(supervise=False)

    await asyncio.gather(chaos(), *(writer(i) for i in range(8)))
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        deadline = time.monotonic() + 20
        while (await http.get("/v1/health/ready")).status_code != 200:
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        stored: set[str] = set()
        for i in range(8):
            body = (await http.get(f"/v1/working-memory/fault-{i}")).json()
            stored |= {m["id"] for m in body.get("messages", [])}
    lost = [m for m in acked if m not in stored]
    ok = not lost and statuses.get(503, 0) > 0 and set(statuses) <= {200, 503}
    check("redis SIGKILL mid-load", ok,
          f"statuses {dict(sorted(statuses.items()))}, {len(acked)} acknowledged, {len(lost)} lost")


async def oversized_inputs(url: str) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        big = b'{"messages":[{"role":"user","content":"' + b"x" * (50 * 1024 * 1024) + b'"}]}'
        r = await http.put("/v1/working-memory/big", content=big,
                           headers={"content-type": "application/json"})
        check("50 MB body", r.status_code == 413 and "error" in r.json(), f"HTTP {r.status_code}")
        r = await http.post("/v1/long-term-memory/search", json={"text": "x", "limit": 10**9})
        check("search limit 10**9", r.status_code == 422, f"HTTP {r.status_code}")


def _raw_exchange(url: str, data: bytes, wait: float) -> tuple[bytes, float, bool]:
    """Send raw bytes; (reply, seconds to its first byte, closed by the server)."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port))) as sock:
        sock.settimeout(wait)
        start = time.monotonic()
        sock.sendall(data)
        out, first, closed = b"", wait, False
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    closed = True
                    break
                if not out:
                    first = time.monotonic() - start
                out += chunk
        except (TimeoutError, ConnectionResetError):
            pass
    return out, first, closed


async def bodies_that_never_arrive(url: str, timeout: float) -> None:
    head = (b"PUT /v1/working-memory/slow HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\n")
    reply, first, _ = await asyncio.to_thread(
        _raw_exchange, url, head + b"Content-Length: 104857600\r\n\r\n", 5.0)
    status = reply[9:12].decode(errors="replace")
    check("declared 100 MB body, none sent", status == "413" and first < 1.0,
          f"HTTP {status} after {first * 1000:.0f} ms")
    reply, first, closed = await asyncio.to_thread(
        _raw_exchange, url, head + b'Content-Length: 100\r\n\r\n{"messa', timeout + 10)
    status = reply[9:12].decode(errors="replace")
    check("100 bytes declared, 8 sent", status == "408" and closed and first < timeout + 2,
          f"HTTP {status} after {first:.1f} s (timeout {timeout:g} s), "
          f"connection {'closed' if closed else 'left open'}")


async def model_faults(redis_url: str) -> None:
    with StubServer() as stub:
        env = {"OPENAI_API_BASE": stub.base_url, "OPENAI_API_KEY": "k",
               "LLM_TIMEOUT_SECONDS": "1", "LLM_MAX_RETRIES": "1"}
        with api_process(redis_url, **env) as url:
            msgs = [{"role": "user", "content": f"fact {i}. " + "words " * 60} for i in range(40)]
            for label, delay, fail in (("slow model (20 s)", 20.0, None),
                                       ("failing model (500)", 0.0, 500)):
                stub.delay_seconds, stub.fail_status = delay, fail
                async with httpx.AsyncClient(base_url=url, timeout=30) as http:
                    start = time.monotonic()
                    r = await http.put("/v1/working-memory/llm", params={"context_window_max": 2000},
                                       json={"messages": msgs})
                    took = time.monotonic() - start
                    ok = r.status_code == 200 and r.json()["context"] and took < 6
                    check(f"{label}: summarization falls back", bool(ok),
                          f"HTTP {r.status_code} in {took:.1f} s")
                    start = time.monotonic()
                    r = await http.post("/v1/long-term-memory/search", params={"optimize_query": "true"},
                                        json={"text": "fact", "search_mode": "semantic"})
                    took = time.monotonic() - start
                    check(f"{label}: optimize_query search", r.status_code == 200 and took < 6,
                          f"HTTP {r.status_code} in {took:.1f} s")


def _worker(redis_url: str, stub_base: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "REDIS_URL": redis_url, "EMBEDDING_PROVIDER": "hashing",
           "OPENAI_API_BASE": stub_base, "OPENAI_API_KEY": "k", "LLM_MAX_RETRIES": "0",
           "EXTRACTION_DEBOUNCE_SECONDS": "0.2"}
    return subprocess.Popen([sys.executable, "-m", "agent_memory", "worker",
                             "--redelivery-timeout", "2"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def worker_killed_mid_task(redis_url: str) -> None:
    reply = reply_json({"memories": [
        {"type": "semantic", "text": "Ana drinks oolong tea", "topics": ["tea"]},
        {"type": "episodic", "text": "Ana moved to Porto in May 2026", "entities": ["Porto"]}]})
    with StubServer() as stub:
        stub.default_reply, stub.delay_seconds = reply, 30.0
        env = {"OPENAI_API_BASE": stub.base_url, "OPENAI_API_KEY": "k",
               "EXTRACTION_DEBOUNCE_SECONDS": "0.2"}
        with api_process(redis_url, **env) as url:
            scope = {"namespace": "fault", "user_id": "ana"}
            async with httpx.AsyncClient(base_url=url, timeout=30) as http:
                await http.put("/v1/working-memory/ana", json={**scope, "messages": [
                    {"role": "user", "content": "I am Ana; I drink oolong and moved to Porto."}]})
                first = _worker(redis_url, stub.base_url)
                deadline = time.monotonic() + 30
                while not stub.chat_requests() and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                first.send_signal(signal.SIGKILL)
                first.wait()
                stub.delay_seconds = 0.0
                second = _worker(redis_url, stub.base_url)
                try:
                    found: list[str] = []
                    deadline = time.monotonic() + 60
                    while time.monotonic() < deadline:
                        r = await http.post("/v1/long-term-memory/search", json={
                            "text": "", "namespace": {"eq": "fault"}, "limit": 100})
                        found = [m["text"] for m in r.json()["memories"]
                                 if m["memory_type"] != "message"]
                        if len(found) >= 2:
                            break
                        await asyncio.sleep(0.2)
                    await asyncio.sleep(3.0)  # let any second (duplicate) run show itself
                    r = await http.post("/v1/long-term-memory/search", json={
                        "text": "", "namespace": {"eq": "fault"}, "limit": 100})
                    final = sorted(m["text"] for m in r.json()["memories"] if m["memory_type"] != "message")
                finally:
                    second.terminate()
                    second.wait(timeout=15)
    ok = final == sorted(["Ana drinks oolong tea", "Ana moved to Porto in May 2026"])
    check("worker SIGKILL mid model call", ok, f"{len(final)} extracted memories after "
          f"redelivery ({len(stub.chat_requests())} model calls): {final}")


async def main_async(memory_probe: bool) -> None:
    with temporary_redis(persistent=True) as redis_server, api_process(redis_server.url) as url:
        await redis_killed_mid_load(redis_server, url)
        await oversized_inputs(url)
    with temporary_redis() as redis_server, \
            api_process(redis_server.url, REQUEST_BODY_TIMEOUT_SECONDS="3") as url:
        await bodies_that_never_arrive(url, 3.0)
    with temporary_redis(persistent=True) as redis_server:
        await model_faults(redis_server.url)
    with temporary_redis(persistent=True) as redis_server:
        await worker_killed_mid_task(redis_server.url)
    if memory_probe:
        from scripts.probe_memory import probe

        figures = await asyncio.to_thread(probe)
        check("largest bodies, peak RSS < 1 GB", bool(figures["ok"]),
              f"API {figures['api_peak_mb']:.0f} MB, worker {figures['worker_peak_mb']:.0f} MB")


def main() -> None:
    asyncio.run(main_async("--no-memory-probe" not in sys.argv[1:]))
    failed = [name for name, ok, _ in RESULTS if not ok]
    print(f"{len(RESULTS) - len(failed)} passed, {len(failed)} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
