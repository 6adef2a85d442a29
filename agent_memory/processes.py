"""Several API processes on one port, balanced by the kernel (SO_REUSEPORT).

uvicorn's own workers share one listening socket, and whichever process wakes first
accepts: under keep-alive load most connections stuck to one process and a second one
added nothing (docs/benchmarks.md). Here every process binds its own socket with
SO_REUSEPORT, so the kernel spreads new connections across them by hash. The parent only
supervises: it restarts a process that dies (a bounded number of times in a row, with
growing pauses, then gives up and exits non-zero) and stops them all on SIGINT/SIGTERM.
"""

from __future__ import annotations

import multiprocessing
import signal
import socket
import sys
import time
from multiprocessing.process import BaseProcess

from agent_memory.ownership import RestartBudget
from agent_memory.settings import Settings


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket other processes can bind too (SO_REUSEPORT)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def _child(settings: Settings) -> None:
    from agent_memory.cli import run_fast, serve
    from agent_memory.embedded_redis import terminate_with_parent

    terminate_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    run_fast(serve(settings, with_worker=False, sock=reuse_port_socket(settings.host, settings.port)))


def serve_processes(settings: Settings) -> None:
    """Run ``settings.api_workers`` API processes until SIGINT/SIGTERM."""
    # Bind once here first: a port in use is a clear error before any child starts.
    reuse_port_socket(settings.host, settings.port).close()
    ctx = multiprocessing.get_context("spawn")
    stopping = False

    def start() -> BaseProcess:
        proc = ctx.Process(target=_child, args=(settings,), daemon=False)
        proc.start()
        return proc

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    procs = [start() for _ in range(settings.api_workers)]
    attempts = settings.supervisor_restart_attempts  # in a row, per process slot
    budgets = [RestartBudget(attempts) for _ in procs]
    failure = ""
    print(f"agent-memory: API on http://{settings.host}:{settings.port} "
          f"with {settings.api_workers} processes", file=sys.stderr)
    try:
        while not stopping and not failure:
            for i, proc in enumerate(procs):
                if proc.is_alive() or stopping or failure:
                    continue
                pause = budgets[i].next_pause()
                if pause is None:
                    failure = (f"API process {proc.pid} exited ({proc.exitcode}) after "
                               f"{attempts} restarts in a row; giving up")
                    break
                print(f"agent-memory: API process {proc.pid} exited ({proc.exitcode}); "
                      f"restart {budgets[i].used} of at most {attempts} in {pause:.1f} s",
                      file=sys.stderr)
                resume = time.monotonic() + pause
                while not stopping and time.monotonic() < resume:  # SIGTERM stays prompt
                    time.sleep(0.1)
                if not stopping:
                    procs[i] = start()
                    budgets[i].started()
            time.sleep(0.2)
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
        for proc in procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()
    if failure:
        sys.exit(f"agent-memory: {failure}")
