"""Fault checks of who owns the embedded Redis (issue 12, item 2), against real processes;
prints one line per check with its figures and exits 1 on a failure.

1. A second ``agent-memory api`` on a running server's data folder (same ports, as a user
   would type it twice), while 8 clients write: refused at once with exit 1 and a message
   naming the folder and the owner's pid; the first server's Redis is the same process,
   every request it got meanwhile is a 200, every acknowledged write is stored.
2. The owner SIGKILLed: its Redis goes with it (no orphan holds the port); a new owner
   starts on the same folder and every write the first one acknowledged is there.
3. A Redis that cannot come back (killed, its port held by someone else): the API gives up
   after ``SUPERVISOR_RESTART_ATTEMPTS`` restarts and exits non-zero, instead of looping.

    .venv/bin/python scripts/fault_check_ownership.py
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from redis import Redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent_memory.embedded_redis import free_port  # noqa: E402
from agent_memory.ownership import owner_pid  # noqa: E402

RESULTS: list[tuple[str, bool, str]] = []


def check(name: str, ok: bool, detail: str) -> None:
    RESULTS.append((name, ok, detail))
    print(f"[{'PASS' if ok else 'FAIL'}] {name}: {detail}", flush=True)


def env_for(data: Path, redis_port: int, api_port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("REDIS_URL", "OPENAI_API_KEY", "OPENAI_API_BASE")}
    env.update(AGENT_MEMORY_DATA_DIR=str(data), EMBEDDED_REDIS_PORT=str(redis_port),
               PORT=str(api_port), EMBEDDING_PROVIDER="hashing", LOG_LEVEL="WARNING")
    return {**env, **extra}


def start_api(env: dict[str, str]) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-m", "agent_memory", "api"], env=env, text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{env['PORT']}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"{base}/v1/health/ready", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"the API did not start: {proc.communicate()[1][-2000:]}")


def stop(proc: subprocess.Popen[str]) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
    return proc.returncode


def redis_pid(port: int) -> int | None:
    client = Redis(port=port, socket_connect_timeout=0.5)
    try:
        return int(client.info("server")["process_id"])
    except Exception:  # noqa: BLE001 - "not answering" is the answer
        return None
    finally:
        client.close()


async def writers(base: str, seconds: float, acked: list[str],
                  statuses: dict[int, int]) -> None:
    stop_at = time.monotonic() + seconds

    async def one(i: int) -> None:
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            n = 0
            while time.monotonic() < stop_at:
                mid = f"w{i}-{n}"
                n += 1
                try:
                    r = await http.post("/v1/long-term-memory/", json={"memories": [
                        {"id": mid, "text": f"note {mid}", "namespace": "own"}],
                        "deduplicate": False})
                    status = r.status_code
                except httpx.HTTPError:
                    status = 0
                statuses[status] = statuses.get(status, 0) + 1
                if status == 200:
                    acked.append(mid)

    await asyncio.gather(*(one(i) for i in range(8)))


def stored(base: str, ids: list[str]) -> int:
    with httpx.Client(base_url=base, timeout=30) as http:
        return sum(http.get(f"/v1/long-term-memory/{mid}").status_code == 200 for mid in ids)


async def second_owner_refused(data: Path) -> None:
    redis_port, api_port = free_port(), free_port()
    env = env_for(data, redis_port, api_port)
    base = f"http://127.0.0.1:{api_port}"
    first = start_api(env)
    try:
        before = redis_pid(redis_port)
        acked: list[str] = []
        statuses: dict[int, int] = {}
        load = asyncio.create_task(writers(base, 4.0, acked, statuses))
        await asyncio.sleep(1.0)
        started = time.monotonic()
        second = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "agent_memory", "api"], env=env,
            capture_output=True, text=True, timeout=60)
        took = time.monotonic() - started
        await load
        kept = stored(base, acked)
        message = second.stderr.strip().splitlines()[-1] if second.stderr.strip() else ""
        ok = (second.returncode == 1 and str(data / "redis") in message
              and f"pid {first.pid}" in message and redis_pid(redis_port) == before
              and set(statuses) == {200} and kept == len(acked) and first.poll() is None)
        check("second api on the same data folder", ok,
              f"exit {second.returncode} after {took:.1f} s ({message[:90]}...); first server: "
              f"Redis pid unchanged {redis_pid(redis_port) == before}, statuses "
              f"{dict(sorted(statuses.items()))}, {len(acked)} acknowledged, "
              f"{len(acked) - kept} lost")
    finally:
        code = stop(first)
    check("first server stops cleanly afterwards", code == 0 and owner_pid(data / "redis") is None,
          f"exit {code}, lock free {owner_pid(data / 'redis') is None}")


async def owner_killed_then_replaced(data: Path) -> None:
    redis_port, api_port = free_port(), free_port()
    env = env_for(data, redis_port, api_port)
    base = f"http://127.0.0.1:{api_port}"
    first = start_api(env)
    acked: list[str] = []
    statuses: dict[int, int] = {}
    await writers(base, 1.5, acked, statuses)
    old_redis = redis_pid(redis_port)
    first.kill()
    first.communicate()
    deadline = time.monotonic() + 10
    while redis_pid(redis_port) is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    gone = redis_pid(redis_port) is None
    started = time.monotonic()
    second = start_api(env)
    took = time.monotonic() - started
    try:
        kept = stored(base, acked)
        new_redis = redis_pid(redis_port)
    finally:
        code = stop(second)
    ok = gone and kept == len(acked) and new_redis not in (None, old_redis) and code == 0
    check("owner SIGKILLed, then a new owner", ok,
          f"old Redis gone with its owner: {gone}; new owner ready in {took:.1f} s; "
          f"{len(acked)} acknowledged before the kill, {len(acked) - kept} lost")


def redis_cannot_come_back(data: Path) -> None:
    redis_port, api_port = free_port(), free_port()
    attempts = 5
    env = env_for(data, redis_port, api_port, SUPERVISOR_RESTART_ATTEMPTS=str(attempts))
    proc = start_api(env)
    os.kill(redis_pid(redis_port) or 0, signal.SIGKILL)
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    while True:
        try:
            holder.bind(("127.0.0.1", redis_port))
            break
        except OSError:
            time.sleep(0.005)
    holder.listen(1)
    started = time.monotonic()
    try:
        try:
            _, err = proc.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    finally:
        holder.close()
    took = time.monotonic() - started
    tries = err.count("embedded Redis exited")
    ok = proc.returncode not in (0, None) and f"gave up after {attempts} restarts" in err
    check("Redis that cannot come back", ok,
          f"exit {proc.returncode} after {took:.1f} s, {tries} restart attempts logged "
          f"(budget {attempts}: pauses 0.5+1+2+4+8 s)")


async def main_async() -> None:
    with tempfile.TemporaryDirectory(prefix="am-own-") as tmp:
        await second_owner_refused(Path(tmp) / "a")
        await owner_killed_then_replaced(Path(tmp) / "b")
        redis_cannot_come_back(Path(tmp) / "c")


def main() -> None:
    asyncio.run(main_async())
    failed = [name for name, ok, _ in RESULTS if not ok]
    print(f"{len(RESULTS) - len(failed)} passed, {len(failed)} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
