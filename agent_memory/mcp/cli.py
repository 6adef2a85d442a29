"""``agent-memory mcp``: serve the MCP tools over stdio, streamable HTTP or SSE."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import contextvars
import sys
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

from agent_memory.settings import Settings


def register(sub: Any) -> None:
    """Add the ``mcp`` sub-command."""
    mcp = sub.add_parser(
        "mcp", help="serve the memory tools over MCP (stdio, streamable HTTP or SSE)",
        description="Serve the memory tools to MCP clients. stdio (default) is for a desktop "
        "client that launches this command; streamable-http serves /mcp and "
        "/{namespace}/mcp on MCP_HOST:MCP_PORT with the API's AUTH_MODE. With no REDIS_URL "
        "the local Redis is used (shared with a running 'agent-memory api').")
    mcp.add_argument("--transport", "--mode", dest="transport", default="stdio",
                     choices=["stdio", "streamable-http", "sse"],
                     help="stdio (default), streamable-http or sse (--mode is AMS's spelling)")
    mcp.add_argument("--port", type=int, default=None, help="HTTP port (default MCP_PORT or 9000)")
    mcp.add_argument("--host", default=None, help="HTTP address (default MCP_HOST or 127.0.0.1)")
    mcp.add_argument("--with-worker", dest="with_worker", action="store_true", default=None,
                     help="also run a task worker in this process (default on the local Redis)")
    mcp.add_argument("--no-worker", dest="with_worker", action="store_false",
                     help="never run a worker in this process")
    mcp.add_argument("--task-backend", choices=["asyncio", "docket"], default=None,
                     help="AMS's switch: asyncio = --with-worker, docket = --no-worker")
    mcp.set_defaults(func=cmd_mcp)


@contextlib.contextmanager
def _redis(settings: Settings) -> Iterator[Settings]:
    """The configured Redis, or the local one. A local Redis that a live process (a running
    ``agent-memory api``) owns and serves is shared: a desktop client starting and stopping
    this command never takes it away. Otherwise the local Redis is started as ``api`` does."""
    if settings.embedded_redis:
        from agent_memory.embedded_redis import EmbeddedRedis
        from agent_memory.ownership import owner_pid

        local = EmbeddedRedis(settings.data_dir / "redis", settings.embedded_redis_port)
        owner = owner_pid(local.data_dir)
        running = local._running_dir() if owner is not None else None  # start()'s own probe
        if running and Path(running).resolve() == local.data_dir.resolve():
            print(f"agent-memory: sharing the local Redis at {local.url} (run by pid {owner})",
                  file=sys.stderr)
            yield settings.model_copy(update={"redis_url": local.url})
            return
    from agent_memory.cli import _redis_for

    with _redis_for(settings) as live:
        yield live


def cmd_mcp(args: argparse.Namespace, settings: Settings) -> None:
    """Serve MCP on the chosen transport until stopped (stdin closed, for stdio)."""
    from agent_memory.auth import AuthConfigError
    from agent_memory.cli import _check_bind, run_fast

    updates = {k: v for k, v in (("mcp_host", args.host), ("mcp_port", args.port))
               if v is not None}
    settings = settings.model_copy(update=updates)
    with_worker = args.with_worker
    if with_worker is None and args.task_backend is not None:
        with_worker = args.task_backend == "asyncio"  # AMS ran tasks in-process on asyncio
    if with_worker is None:
        with_worker = settings.embedded_redis
    if args.transport == "stdio":
        from agent_memory.mcp.runtime import StdioIdentity

        try:
            identity = StdioIdentity(settings)
        except AuthConfigError as exc:
            sys.exit(f"agent-memory: {exc}")
        with _redis(settings) as live:
            run_fast(_with_worker(serve_stdio(live, identity), live, with_worker))
        return
    _check_bind(settings.model_copy(update={"host": settings.mcp_host}))
    with _redis(settings) as live:
        run_fast(_with_worker(serve_http(live, args.transport), live, with_worker))


async def serve_stdio(settings: Settings, identity: Any) -> None:
    """The tools on this process's stdin/stdout until the client closes stdin."""
    from agent_memory.errors import MemoryServerError
    from agent_memory.mcp.runtime import Runtime
    from agent_memory.mcp.server import build_server
    from agent_memory.services.container import build_services

    runtime = Runtime(settings, stdio=identity)
    server = build_server(runtime)
    services = await build_services(settings)
    try:
        try:  # a bad MCP_TOKEN is a clear error at start, not on the first call
            principal = await identity.principal(services)
        except MemoryServerError as exc:
            sys.exit(f"agent-memory: MCP_TOKEN was refused: {exc.message}")
        print(f"agent-memory: MCP on stdio as {principal.subject}", file=sys.stderr)
        runtime.services = services
        await server.run_stdio_async()
    finally:
        await services.aclose()


async def serve_http(settings: Settings, transport: Any) -> None:
    """The tools over HTTP on MCP_HOST:MCP_PORT until stopped."""
    import uvicorn

    from agent_memory.api._protocol import uvicorn_config
    from agent_memory.mcp.http import create_mcp_app

    app = create_mcp_app(settings, transport)
    config = uvicorn_config(app, settings.mcp_host, settings.mcp_port, settings.log_level.lower())
    path = "/mcp" if transport == "streamable-http" else "/sse"
    print(f"agent-memory: MCP ({transport}) on http://{settings.mcp_host}:{settings.mcp_port}"
          f"{path}", file=sys.stderr)
    with contextlib.suppress(SystemExit, KeyboardInterrupt):
        await uvicorn.Server(config).serve()


async def _with_worker(main: Coroutine[Any, Any, None], settings: Settings,
                       with_worker: bool) -> None:
    """Run ``main``, and a Docket worker beside it when asked; stop both when it ends."""
    tasks = [asyncio.create_task(main)]
    if with_worker and settings.use_docket:
        from agent_memory.worker import run_worker

        tasks.append(asyncio.create_task(run_worker(settings), context=contextvars.copy_context()))
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    for task in pending:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    for task in done:
        task.result()
