"""Servers a side-by-side benchmark starts: this project from a checkout, and AMS itself.

Each started server is an API process plus a background worker of its own kind, talking to
an OpenAI-compatible embedding stub (``tests/support/stub_openai.py``, in its own process)
and to a Redis with the Query Engine (the embedded one, ``agent_memory/embedded_redis.py``).
RediSearch indexes only DB 0, so AMS shares a Redis with one of ours under key prefixes,
index names and a Docket name of its own (its settings allow it; ours are fixed).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from scripts._bench.harness import stop_processes

ROOT = Path(__file__).resolve().parents[2]

_STUB = """
import sys, time
sys.path.insert(0, {root!r})
from tests.support.stub_openai import StubOpenAI, StubServer
stub = StubOpenAI()
stub.dims = 1536  # text-embedding-3-small, what AMS expects by default
stub.honour_base64 = {base64}
with StubServer(stub) as s:
    print(s.port, flush=True)
    while True:
        time.sleep(3600)
"""

# AMS under names of its own, so it shares a Redis with ours without touching our keys.
AMS_ISOLATION = {
    "REDISVL_INDEX_NAME": "ams_memory_records",
    "REDISVL_INDEX_PREFIX": "ams_memory_idx",
    "WORKING_MEMORY_INDEX_NAME": "ams_working_memory_idx",
    "WORKING_MEMORY_INDEX_PREFIX": "ams_working_memory:",
    "DOCKET_NAME": "ams-memory-server",
}


@dataclass
class Target:
    """A server under test: its label, base URL and the pids of its processes (API first;
    empty for a server given by URL, whose CPU is not measured)."""

    label: str
    url: str
    kind: str  # "ours", "ams" or "url"
    pids: list[int] = field(default_factory=list)
    redis_url: str | None = None  # a started server's Redis: where to see its memories land

    def memory_key(self, memory_id: str) -> str:
        """The Redis key of a long-term memory of a started server (RedisVL: prefix:id)."""
        prefix = AMS_ISOLATION["REDISVL_INDEX_PREFIX"] if self.kind == "ams" else "memory_idx"
        return f"{prefix}:{memory_id}"


@contextlib.contextmanager
def embedding_stub(base64: bool = True) -> Iterator[str]:
    """An OpenAI-compatible endpoint in its own process; yields its /v1 URL. ``base64``:
    answer base64 when asked (as OpenAI does), else always float lists."""
    proc = subprocess.Popen([sys.executable, "-c", _STUB.format(root=str(ROOT), base64=base64)],
                            stdout=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())  # type: ignore[union-attr]
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _wait_up(url: str, procs: list[subprocess.Popen[bytes]], what: str) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"{url}/v1/health", timeout=1).read()
            return
        except OSError:
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise RuntimeError(f"{what} did not start") from None
            time.sleep(0.2)


@contextlib.contextmanager
def _processes(commands: list[tuple[list[str], Path | None]], env: dict[str, str],
               port: int, what: str, log: Path | None) -> Iterator[list[int]]:
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115
    procs = [subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=out)
             for cmd, cwd in commands]
    try:
        _wait_up(f"http://127.0.0.1:{port}", procs[:1], what)
        yield [p.pid for p in procs]
    finally:
        stop_processes(procs, timeout=15)
        if log:
            out.close()  # type: ignore[union-attr]


@contextlib.contextmanager
def ours(tree: Path, redis_url: str, stub_url: str, port: int, *, worker: bool = True,
         log: Path | None = None) -> Iterator[list[int]]:
    """This project's API from checkout ``tree`` (its defaults: Docket on, so a PUT arms
    real promotion) and, with ``worker``, an ``agent-memory worker`` beside it."""
    env = {**os.environ, "REDIS_URL": redis_url, "PORT": str(port), "LOG_LEVEL": "WARNING",
           "EMBEDDING_PROVIDER": "openai", "OPENAI_API_BASE": stub_url,
           "OPENAI_API_KEY": "stub", "AUTH_MODE": "disabled", "PYTHONPATH": str(tree)}
    commands = [([sys.executable, "-m", "agent_memory", "api", "--no-worker"], tree)]
    if worker:
        commands.append(([sys.executable, "-m", "agent_memory", "worker"], tree))
    with _processes(commands, env, port, f"API from {tree}", log) as pids:
        yield pids


@contextlib.contextmanager
def ams(binary: Path, redis_url: str, stub_url: str, port: int, *, backend: str = "docket",
        log: Path | None = None) -> Iterator[list[int]]:
    """AMS (``agent-memory`` of an ``agent-memory-server`` install) on ``redis_url`` under
    its own names (:data:`AMS_ISOLATION`). ``backend="docket"`` (its default) adds its
    ``task-worker`` process; ``"asyncio"`` runs background tasks inside the API process,
    after each answer."""
    sys.path.insert(0, str(ROOT))
    from agent_memory.tokenizer import encoding

    encoding()  # primes the offline tiktoken cache (AMS would try to download it)
    env = {**os.environ, "REDIS_URL": redis_url, "OPENAI_API_BASE": stub_url,
           "OPENAI_API_KEY": "stub", "DISABLE_AUTH": "true", "AUTH_MODE": "disabled",
           "LOG_LEVEL": "WARNING", "LITELLM_LOCAL_MODEL_COST_MAP": "True",
           "TIKTOKEN_CACHE_DIR": os.environ["TIKTOKEN_CACHE_DIR"], **AMS_ISOLATION}
    env.pop("PYTHONPATH", None)
    commands: list[tuple[list[str], Path | None]] = [
        ([str(binary), "api", "--port", str(port), "--task-backend", backend], None)]
    if backend == "docket":
        commands.append(([str(binary), "task-worker"], None))
    with _processes(commands, env, port, f"AMS ({binary})", log) as pids:
        yield pids
