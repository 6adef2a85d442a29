"""Serve ``create_app(settings)`` with a real uvicorn on a free loopback port, in a thread.

For tests that drive the server through real HTTP (the official client, fault tests).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.applications import Starlette

from agent_memory.api._protocol import uvicorn_config
from agent_memory.app import create_app
from agent_memory.embedded_redis import free_port
from agent_memory.settings import Settings


@contextmanager
def live_server(settings: Settings) -> Iterator[str]:
    """Yield the base URL (``http://127.0.0.1:PORT``) of a running server."""
    with serving(create_app(settings)) as url:
        yield url


@contextmanager
def serving(app: Starlette) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port in a thread; yield its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn_config(app, "127.0.0.1", port, "error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("live server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
