"""Who owns the embedded Redis (issue 12, item 2): a second owner of a data folder is
refused and the first keeps serving; a real orphan is still replaced; restarts are bounded."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from redis import Redis
from redis.asyncio import Redis as AsyncRedis

from agent_memory.embedded_redis import EmbeddedRedis, free_port, locate_binaries
from agent_memory.ownership import RestartBudget, owner_pid
from agent_memory.settings import Settings
from agent_memory.storage import ltm_index

pytestmark = pytest.mark.timeout(120)


def _env(data: Path, redis_port: int, api_port: int, **extra: str) -> dict[str, str]:
    """A laptop-default environment: no REDIS_URL, the embedded Redis in ``data``."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("REDIS_URL", "OPENAI_API_KEY", "OPENAI_API_BASE")}
    env.update(AGENT_MEMORY_DATA_DIR=str(data), EMBEDDED_REDIS_PORT=str(redis_port),
               PORT=str(api_port), EMBEDDING_PROVIDER="hashing", LOG_LEVEL="WARNING")
    return {**env, **extra}


def _command(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "agent_memory", *args], env=env, text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait_healthy(base: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1]
        try:
            if httpx.get(f"{base}/v1/health/ready", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("the API did not become ready")


def _stop(process: subprocess.Popen[str]) -> tuple[int, str]:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        _, err = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
    return process.returncode, err


def _redis_pid(port: int) -> int:
    client = Redis(port=port)
    try:
        return int(client.info("server")["process_id"])
    finally:
        client.close()


@contextmanager
def _occupy(port: int) -> Iterator[None]:
    """Hold ``port`` on loopback (retrying until its last user has let it go)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past its TIME_WAIT sockets
    deadline = time.monotonic() + 5
    while True:
        try:
            sock.bind(("127.0.0.1", port))
            break
        except OSError:
            assert time.monotonic() < deadline, f"port {port} never freed"
            time.sleep(0.005)
    sock.listen(1)
    try:
        yield
    finally:
        sock.close()


def test_a_second_owner_of_the_data_folder_is_refused_and_the_first_keeps_serving(
        tmp_path: Path) -> None:
    redis_port, api_port = free_port(), free_port()
    env = _env(tmp_path, redis_port, api_port)
    first = _command("api", env=env)
    base = f"http://127.0.0.1:{api_port}"
    try:
        _wait_healthy(base, first)
        stored = httpx.post(f"{base}/v1/long-term-memory/", json={
            "memories": [{"id": "kept", "text": "the first server keeps this"}]})
        assert stored.status_code == 200, stored.text
        redis_before = _redis_pid(redis_port)
        assert owner_pid(tmp_path / "redis") == first.pid

        # The case (same folder, same ports) and the folder alone (another API port),
        # through `api` and through `redis`: each refused, non-zero, naming folder and owner.
        for args, port in ((["api"], api_port), (["api"], free_port()), (["redis"], api_port)):
            second = subprocess.run(
                [sys.executable, "-m", "agent_memory", *args], capture_output=True, text=True,
                env={**env, "PORT": str(port)}, timeout=60)
            assert second.returncode != 0, (args, second.stderr)
            assert "refusing to start" in second.stderr, second.stderr
            assert str(tmp_path / "redis") in second.stderr
            assert f"pid {first.pid}" in second.stderr
            assert "orphaned" not in second.stderr

        assert first.poll() is None
        assert _redis_pid(redis_port) == redis_before  # the same Redis, never restarted
        got = httpx.get(f"{base}/v1/long-term-memory/kept")
        assert got.status_code == 200 and got.json()["text"] == "the first server keeps this"
        assert httpx.get(f"{base}/v1/health/ready").status_code == 200
    finally:
        code, err = _stop(first)
    assert code == 0, err
    assert owner_pid(tmp_path / "redis") is None  # the lock went with the owner


def test_a_real_orphan_is_stopped_and_replaced(tmp_path: Path) -> None:
    """A Redis left on our port and folder with nobody holding the lock (its owner died
    without taking it along) is shut down and replaced, as before."""
    redis_port = free_port()
    data = tmp_path / "redis"
    data.mkdir()
    bins = locate_binaries()
    orphan = subprocess.Popen(
        [str(bins.server), "--port", str(redis_port), "--bind", "127.0.0.1", "--dir", str(data),
         "--save", "", "--appendonly", "no", "--loadmodule", str(bins.search_module),
         "--loadmodule", str(bins.json_module)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    owner = None
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                assert _redis_pid(redis_port) == orphan.pid
                break
            except Exception:
                assert time.monotonic() < deadline, "orphan Redis did not start"
                time.sleep(0.05)
        owner = _command("redis", env=_env(tmp_path, redis_port, free_port()))
        assert orphan.wait(timeout=30) == 0  # shut down by the new owner (SHUTDOWN)
        deadline = time.monotonic() + 15
        while True:
            try:
                new_pid = _redis_pid(redis_port)
                break
            except Exception:
                assert owner.poll() is None and time.monotonic() < deadline, "no new Redis"
                time.sleep(0.05)
        assert new_pid != orphan.pid
        assert owner_pid(data) == owner.pid
    finally:
        if orphan.poll() is None:
            orphan.kill()
            orphan.wait()
        if owner is not None:
            code, err = _stop(owner)
            assert code == 0, err
            assert "stopping an orphaned embedded Redis" in err


def test_restart_budget_pauses_grow_and_run_out() -> None:
    budget = RestartBudget(3, first_pause=0.5, max_pause=1.0, stable_seconds=3600)
    assert [budget.next_pause() for _ in range(4)] == [0.5, 1.0, 1.0, None]
    steady = RestartBudget(2, first_pause=0.5, stable_seconds=0)
    for _ in range(5):  # stayed up long enough each time: every death is a fresh one
        steady.started()
        assert steady.next_pause() == 0.5
    steady.started()
    assert steady.next_pause() == 0.5
    assert steady.next_pause() == 1.0  # a failed restart does not reset the count
    assert steady.next_pause() is None


def test_the_watcher_gives_up_after_its_budget(tmp_path: Path) -> None:
    """A Redis that cannot come back (its port is taken) is retried twice, then the watcher
    stops with a message and tells its owner; it never loops."""
    reasons: list[str] = []
    server = EmbeddedRedis(tmp_path, free_port(), persistent=False, restart_attempts=2,
                           on_give_up=reasons.append)
    server.start(supervise=True)
    try:
        server.kill()
        with _occupy(server.port):
            deadline = time.monotonic() + 30
            while not reasons and time.monotonic() < deadline:
                time.sleep(0.05)
            assert reasons, "the watcher never gave up"
            assert "gave up after 2 restarts in a row" in reasons[0]
            assert str(tmp_path) in reasons[0]
            assert server.restarts == 0 and server.failure == reasons[0]
            time.sleep(1.0)
            assert len(reasons) == 1  # and stays given up
    finally:
        server.stop()


def test_the_api_exits_non_zero_when_its_redis_cannot_come_back(tmp_path: Path) -> None:
    redis_port, api_port = free_port(), free_port()
    process = _command("api", env=_env(tmp_path, redis_port, api_port,
                                       SUPERVISOR_RESTART_ATTEMPTS="1"))
    try:
        _wait_healthy(f"http://127.0.0.1:{api_port}", process)
        os.kill(_redis_pid(redis_port), signal.SIGKILL)
        with _occupy(redis_port):
            code, err = process.wait(timeout=60), process.communicate()[1]
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert code != 0, err
    assert "gave up after 1 restarts in a row" in err, err
    assert str(tmp_path / "redis") in err


async def test_api_processes_that_keep_dying_are_restarted_a_bounded_number_of_times(
        redis_url: str, redis: AsyncRedis) -> None:
    """Every API process fails its start-up (the index was built by another model): the
    parent retries once, as configured, then exits non-zero instead of looping."""
    name = Settings(redis_url=redis_url).redisvl_index_name
    await ltm_index.write_meta(redis, name, "some-other-model", 8)
    env = {**os.environ, "REDIS_URL": redis_url, "EMBEDDING_PROVIDER": "hashing",
           "LOG_LEVEL": "WARNING", "SUPERVISOR_RESTART_ATTEMPTS": "1"}
    started = time.monotonic()
    try:
        done = subprocess.run([sys.executable, "-m", "agent_memory", "api", "--no-worker",
                               "--workers", "2", "--port", str(free_port())],
                              env=env, capture_output=True, text=True, timeout=90)
    finally:
        await redis.flushdb()  # the foreign index record must not outlive this test
    assert done.returncode != 0, done.stderr
    assert "restart 1 of at most 1" in done.stderr
    assert "after 1 restarts in a row; giving up" in done.stderr
    assert time.monotonic() - started < 60


def test_an_api_port_in_use_is_a_non_zero_exit(redis_url: str, redis: AsyncRedis) -> None:
    """uvicorn's own start-up failure is no longer swallowed into exit 0."""
    port = free_port()
    env = {**os.environ, "REDIS_URL": redis_url, "EMBEDDING_PROVIDER": "hashing",
           "LOG_LEVEL": "WARNING"}
    with _occupy(port):
        done = subprocess.run([sys.executable, "-m", "agent_memory", "api", "--no-worker",
                               "--port", str(port)], env=env, capture_output=True, text=True,
                              timeout=60)
    assert done.returncode != 0, done.stderr
    assert "address already in use" in done.stderr.lower(), done.stderr
