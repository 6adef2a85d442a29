"""``agent-memory api --workers 2``: two processes share the port, both serve, and all
stop with the parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

from agent_memory.embedded_redis import free_port


def _children(pid: int) -> set[int]:
    out = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.add(int(entry))
            except OSError:
                continue
    return out


def _cpu_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def test_two_processes_share_the_port_and_stop_with_the_parent(redis_url: str) -> None:
    port = free_port()
    env = {**os.environ, "REDIS_URL": redis_url, "EMBEDDING_PROVIDER": "hashing",
           "LOG_LEVEL": "WARNING"}
    parent = subprocess.Popen([sys.executable, "-m", "agent_memory", "api", "--no-worker",
                               "--workers", "2", "--port", str(port)],
                              env=env, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/v1/health"
        deadline = time.monotonic() + 60
        while True:  # both processes up: health answers on fresh connections
            try:
                urllib.request.urlopen(url, timeout=1).read()
                if len(_children(parent.pid)) >= 2:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline and parent.poll() is None, "API did not start"
            time.sleep(0.2)
        time.sleep(1.0)  # let the second child finish its startup
        children = _children(parent.pid)
        before = {pid: _cpu_ticks(pid) for pid in children}
        for _ in range(1000):  # new connection each time: the kernel spreads them (and
            # each process gets several 10 ms CPU ticks: 300 health checks were ~1 tick)
            assert urllib.request.urlopen(url, timeout=5).status == 200
        busy = [pid for pid in children if _cpu_ticks(pid) > before[pid]]
        assert len(busy) == 2, "one process served every connection"
    finally:
        parent.send_signal(signal.SIGTERM)
        assert parent.wait(timeout=20) == 0 or parent.returncode is not None
    time.sleep(0.5)
    for pid in children:
        assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"
