"""The ``agent-memory`` command line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import contextvars
import logging
import os
import signal
import socket
import sys
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

from agent_memory import __version__
from agent_memory.settings import Settings

log = logging.getLogger("agent_memory")
T = TypeVar("T")


@contextlib.contextmanager
def _redis_for(settings: Settings) -> Iterator[Settings]:
    """Start the embedded Redis when no REDIS_URL is configured; yield settings that point
    at whichever Redis is in use.

    Exits non-zero, touching nothing, when another live process owns the data folder; and
    when the Redis kept dying and its watcher gave up (this process is then stopped as by
    SIGTERM, so the API shuts down cleanly first)."""
    if not settings.embedded_redis:
        yield settings
        return
    from agent_memory.embedded_redis import EmbeddedRedis
    from agent_memory.ownership import DataDirBusy

    server = EmbeddedRedis(settings.data_dir / "redis", settings.embedded_redis_port,
                           restart_attempts=settings.supervisor_restart_attempts,
                           on_give_up=lambda _why: os.kill(os.getpid(), signal.SIGTERM))
    try:
        server.start()
    except DataDirBusy as exc:
        sys.exit(f"agent-memory: refusing to start: {exc}")
    print(f"agent-memory: embedded Redis at {server.url}; data in {server.data_dir}", file=sys.stderr)
    try:
        yield settings.model_copy(update={"redis_url": server.url})
    finally:
        server.stop()
        if server.failure:
            sys.exit(f"agent-memory: stopping: {server.failure}")  # replaces the SIGTERM exit


def run_fast(coro: Coroutine[Any, Any, T]) -> T:
    """Run a long-lived service on uvloop when installed (uvicorn's ``loop="uvloop"`` only
    applies to loops uvicorn creates itself; this one is ours)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] ships it
        return asyncio.run(coro)
    return uvloop.run(coro)


def _check_bind(settings: Settings) -> None:
    from agent_memory.auth.mode import AuthConfigError, resolve_auth_mode

    loopback = settings.host in ("127.0.0.1", "localhost", "::1")
    try:
        mode = resolve_auth_mode(settings)  # DISABLE_AUTH / TOKEN_AUTH_ENABLED reconciled
    except AuthConfigError as exc:
        sys.exit(f"agent-memory: {exc}")
    if mode.value == "disabled":
        log.warning("AUTH IS DISABLED: every caller can read and write every tenant's memory")
        if not loopback and not settings.allow_unauthenticated_public_bind:
            sys.exit(
                f"refusing to bind {settings.host} with AUTH_MODE=disabled; set AUTH_MODE=token "
                "or oauth2, or ALLOW_UNAUTHENTICATED_PUBLIC_BIND=true to force it"
            )


async def serve(settings: Settings, *, with_worker: bool, sock: socket.socket | None = None) -> None:
    """The API (and optionally a Docket worker) in this process until stopped; on
    ``sock`` when given (see processes.py), else on settings.host:port."""
    import uvicorn

    from agent_memory.api._protocol import uvicorn_config
    from agent_memory.app import create_app

    app = create_app(settings)
    config = uvicorn_config(app, settings.host, settings.port, settings.log_level.lower())
    server = uvicorn.Server(config)

    async def serve_api() -> None:
        # uvicorn re-raises the signal that stopped it; here that means "shut down cleanly".
        # Its own sys.exit on a failed start-up (say, the port is in use) stays an error.
        try:
            await server.serve(sockets=[sock] if sock is not None else None)
        except KeyboardInterrupt:
            pass
        except SystemExit as exc:
            if exc.code not in (None, 0, 128 + signal.SIGTERM):
                raise

    tasks = [asyncio.create_task(serve_api())]
    if with_worker:
        from agent_memory.observability import metrics
        from agent_memory.worker import run_worker

        # The in-process worker records its task outcomes into this app's /metrics.
        context = contextvars.copy_context()
        context.run(metrics.bind, app.state.metrics)
        tasks.append(asyncio.create_task(run_worker(settings), context=context))
    print(f"agent-memory: API on http://{settings.host}:{settings.port}"
          f"{' with an in-process worker' if with_worker else ''}", file=sys.stderr)
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    for task in done:
        task.result()


def cmd_api(args: argparse.Namespace, settings: Settings) -> None:
    """Serve the REST API (and, on the embedded default, a worker beside it)."""
    updates = {k: v for k, v in (("host", args.host), ("port", args.port),
                                 ("api_workers", getattr(args, "workers", None))) if v is not None}
    settings = settings.model_copy(update=updates)
    _check_bind(settings)
    with_worker = args.with_worker if args.with_worker is not None else settings.embedded_redis
    with _redis_for(settings) as live:
        if live.api_workers > 1:
            if with_worker:
                print("agent-memory: with several API processes, run workers with "
                      "'agent-memory worker'", file=sys.stderr)
            from agent_memory.processes import serve_processes

            serve_processes(live)
            return
        run_fast(serve(live, with_worker=with_worker and live.use_docket))


def cmd_worker(args: argparse.Namespace, settings: Settings) -> None:
    """Run a Docket worker."""
    from agent_memory.worker import run_worker

    if args.metrics_port is not None:
        from agent_memory.observability.exposition import serve_metrics

        serve_metrics(args.metrics_port, settings.host)
    with _redis_for(settings) as live:
        run_fast(run_worker(live, concurrency=args.concurrency,
                               redelivery_timeout=args.redelivery_timeout))


def cmd_redis(args: argparse.Namespace, settings: Settings) -> None:
    """Run only the embedded Redis, in the foreground."""
    import time

    with _redis_for(settings.model_copy(update={"redis_url": None})):
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also what ``--help`` prints)."""
    parser = argparse.ArgumentParser(
        prog="agent-memory",
        description="A Redis-native memory server for LLM agents. Configuration comes from the "
        "environment (REDIS_URL, OPENAI_API_KEY, AUTH_MODE, ...; see README). With no REDIS_URL "
        "a local Redis is started, with its data under AGENT_MEMORY_DATA_DIR.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    sub = parser.add_subparsers(dest="command", required=True)

    api = sub.add_parser("api", help="serve the REST API",
                         description="Serve the REST API. On the embedded default (no REDIS_URL) "
                         "this also starts the local Redis and a task worker: one command for dev.")
    api.add_argument("--host", help="address to bind (default HOST or 127.0.0.1)")
    api.add_argument("--port", type=int, help="port (default PORT or 8000)")
    api.add_argument("--workers", type=int, default=None,
                     help="API processes sharing the port (default API_WORKERS or 1)")
    api.add_argument("--with-worker", dest="with_worker", action="store_true", default=None,
                     help="also run a task worker in this process")
    api.add_argument("--no-worker", dest="with_worker", action="store_false",
                     help="never run a worker in this process")
    api.set_defaults(func=cmd_api)
    dev = sub.add_parser("dev", help="alias of 'api' on the embedded default",
                         description="Same as 'api': local Redis, API and worker in one command.")
    dev.add_argument("--host", help="address to bind (default HOST or 127.0.0.1)")
    dev.add_argument("--port", type=int, help="port (default PORT or 8000)")
    dev.set_defaults(func=cmd_api, with_worker=True)

    worker = sub.add_parser("worker", help="run a background task worker",
                            description="Run a Docket worker; start any number, on any machine, "
                            "against the same REDIS_URL.")
    worker.add_argument("--concurrency", type=int, default=10, help="tasks run at once (10)")
    worker.add_argument("--redelivery-timeout", type=float, default=None,
                        help="seconds before a silent task is handed to another worker")
    worker.add_argument("--metrics-port", type=int, default=None,
                        help="serve this worker's Prometheus metrics (task runs, model and "
                        "embedding calls) on HOST:PORT/metrics (default: not served)")
    worker.set_defaults(func=cmd_worker)

    redis = sub.add_parser("redis", help="run only the embedded Redis in the foreground")
    redis.set_defaults(func=cmd_redis)

    for register in _extensions():
        register(sub)
    return parser


def _extensions() -> list:  # type: ignore[type-arg]
    """Sub-command groups defined next to the code they drive."""
    from agent_memory.audit_cli import register as register_audit
    from agent_memory.auth.cli import register as register_token
    from agent_memory.forget_cli import register as register_forget
    from agent_memory.importer import register as register_import
    from agent_memory.mcp.cli import register as register_mcp
    from agent_memory.reembed import register as register_reembed

    return [register_token, register_reembed, register_import, register_forget, register_audit,
            register_mcp]


def _exit_on_term(signum: int, frame: object) -> None:
    # uvicorn re-raises the signal it caught once it has shut down; turning it into
    # SystemExit lets the embedded Redis be stopped cleanly by the context managers.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``agent-memory`` command."""
    signal.signal(signal.SIGTERM, _exit_on_term)
    settings = Settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        args.func(args, settings)
    except (KeyboardInterrupt, SystemExit) as stop:
        code = stop.code if isinstance(stop, SystemExit) else 130
        if isinstance(code, str):
            raise
        sys.exit(0 if code in (None, 0, 128 + signal.SIGTERM) else code)


if __name__ == "__main__":
    main()
