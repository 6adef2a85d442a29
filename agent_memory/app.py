"""The Starlette application factory and its lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable
from typing import TypedDict

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import Receive, Scope, Send

from agent_memory.api import health, long_term_memory, prompt, working_memory
from agent_memory.api._errors import exception_handlers
from agent_memory.api._middleware import BodySizeLimit, OriginGuard
from agent_memory.api._router import IndexedRouter
from agent_memory.api.docs import docs_routes
from agent_memory.api import audit as audit_api
from agent_memory.api import erase as erase_api
from agent_memory.api import forget as forget_api
from agent_memory.api import profile as profile_api
from agent_memory.api import forgetting as forgetting_api
from agent_memory.api import memories as memories_api
from agent_memory.api import ingestion as ingestion_api
from agent_memory.api import jobs as jobs_api
from agent_memory.api import process as process_api
from agent_memory.api import summary_views as summary_views_api
from agent_memory.api import tasks as tasks_api
from agent_memory.auth import AuthMiddleware
from agent_memory.errors import MethodNotAllowed
from agent_memory.gc_tuning import tune_for_serving
from agent_memory.observability import Metrics, RequestObserver, metrics_routes
from agent_memory.observability.exposition import METRICS_PATH
from agent_memory.services.container import Services, build_services
from agent_memory.settings import Settings
from agent_memory.tokenizer import encoding

log = logging.getLogger(__name__)


class State(TypedDict):
    """What the lifespan hands every request (``request.state.services``)."""

    services: Services


def api_routes() -> list[Route]:
    """Every ``/v1`` route, as declared by the API modules."""
    return [*health.routes, *tasks_api.routes, *forget_api.routes, *working_memory.routes,
            *prompt.routes, *long_term_memory.routes, *summary_views_api.routes,
            *forgetting_api.routes, *audit_api.routes, *erase_api.routes, *profile_api.routes,
            *memories_api.routes, *process_api.routes, *jobs_api.routes]


def public_paths() -> list[str]:
    """Full paths of the routes declared ``public`` (health): served without credentials."""
    return [f"/v1{r.spec.path}" for r in api_routes()  # type: ignore[attr-defined]
            if getattr(r, "spec", None) is not None and r.spec.public]  # type: ignore[attr-defined]


def _with_slash_variants(routes: Iterable[Route]) -> list[BaseRoute]:
    """Serve each path with and without its trailing slash: AMS clients use both spellings,
    and a 307 redirect would make them re-send bodies. The twins come after every declared
    route: Starlette tries routes in order, and most requests use the declared spelling.
    (No twin full-matches what a declared route does, so the order changes no answer.)"""
    routes = list(routes)
    twins: list[BaseRoute] = []
    for route in routes:
        twin = route.path[:-1] if route.path.endswith("/") else route.path + "/"
        twins.append(Route(twin, route.endpoint, methods=route.methods, name=route.name,
                           include_in_schema=False))
    return _with_method_fallbacks([*routes, *twins])


class _MethodNotAllowed:
    """The answer to a declared path asked with an undeclared method: 405 listing every
    method the path serves (Starlette lists only those of the first route it tried)."""

    def __init__(self, methods: Iterable[str]) -> None:
        self.allow = ", ".join(sorted(methods))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = MethodNotAllowed(f"method {scope['method']} is not allowed here; use {self.allow}",
                                 details={"allow": self.allow.split(", ")})
        response = JSONResponse(error.body(), status_code=405, headers={"Allow": self.allow})
        await response(scope, receive, send)


def _with_method_fallbacks(routes: list[Route]) -> list[BaseRoute]:
    """Routes, then a catch-all per path that answers 405 with a complete ``Allow``.

    Literal paths (and their fallbacks) come before templated ones, so ``GET
    /long-term-memory/search`` is a 405 rather than a lookup of a memory called "search".
    """
    allowed: dict[str, set[str]] = {}
    for route in routes:
        allowed.setdefault(route.path, set()).update(route.methods or ())
    literal = [r for r in routes if "{" not in r.path]
    templated = [r for r in routes if "{" in r.path]

    def fallbacks(paths: Iterable[str]) -> list[BaseRoute]:
        # An ASGI class, not a function: Starlette then matches it for every method.
        return [Route(path, _MethodNotAllowed(allowed[path]), include_in_schema=False)
                for path in dict.fromkeys(paths)]

    return [*literal, *fallbacks(r.path for r in literal),
            *templated, *fallbacks(r.path for r in templated)]


def _cors(settings: Settings) -> list[Middleware]:
    """CORS for the configured origins only (none by default: no CORS headers at all)."""
    if not settings.cors_allowed_origins:
        return []
    from starlette.middleware.cors import CORSMiddleware

    return [Middleware(CORSMiddleware, allow_origins=settings.cors_allowed_origins,
                       allow_methods=["*"], allow_headers=["*"])]


def create_app(settings: Settings | None = None) -> Starlette:
    """Build the ASGI app. Settings are read from the environment when not given."""
    settings = settings or Settings()

    mcp = None
    if settings.mcp_on_api:  # MCP streamable HTTP at /mcp beside the REST routes (issue 18)
        from agent_memory.mcp.http import mcp_routes

        # Several API processes share the port: an MCP session would live in one only.
        mcp = mcp_routes(settings, host=settings.host, stateless=settings.api_workers > 1)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[State]:
        services = await build_services(settings)
        # The token encoding loads in ~0.3 s on first use: at startup, not in the first PUT.
        await asyncio.to_thread(encoding)
        if settings.gc_tuning:
            tune_for_serving()
        try:
            if mcp is None:
                yield {"services": services}
            else:
                mcp.runtime.services = services
                async with mcp.run():
                    yield {"services": services}
        finally:
            await services.aclose()

    metrics = Metrics()  # per app: tests build many apps in one process
    app = Starlette(
        # Indexed: most requests try one or two of the mount's 156 routes, not half of them.
        routes=[Mount("/v1", app=IndexedRouter(_with_slash_variants(api_routes()))),
                # The profile contract's own paths (/memory, /memory/read, ...), beside /v1.
                *_with_slash_variants(profile_api.root_routes),
                *ingestion_api.routes, *docs_routes(), *metrics_routes(),
                *(mcp.routes if mcp is not None else [])],
        lifespan=lifespan,
        exception_handlers=exception_handlers,  # type: ignore[arg-type]
        middleware=[
            # Request id, metrics and access log wrap everything, rejections included.
            Middleware(RequestObserver, metrics=metrics, access_log=settings.access_log),
            # Oversized bodies are refused (413) before auth, and any early answer first
            # drains the unread body so a client still uploading reads it cleanly.
            Middleware(BodySizeLimit, max_bytes=settings.max_request_bytes,
                       timeout=settings.request_body_timeout_seconds),
            # Browser writes from another site are refused (403) unless allowed by
            # CORS_ALLOWED_ORIGINS, which also answers those origins' CORS preflights.
            *_cors(settings),
            Middleware(OriginGuard, allowed=settings.cors_allowed_origins),
            # An unauthenticated caller is answered 401 before any body is read.
            # Only health (and the contract/docs) stay open when a mode is on; /metrics
            # too only when METRICS_PUBLIC says the scraper network is trusted.
            Middleware(AuthMiddleware, settings=settings,
                       public_paths=[*public_paths(),
                                     *([METRICS_PATH] if settings.metrics_public else [])]),
        ],
    )
    app.state.settings = settings
    app.state.metrics = metrics
    return app
