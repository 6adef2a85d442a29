"""MCP over HTTP: streamable HTTP (``/mcp``, ``/{namespace}/mcp``) or SSE (``/sse``,
``/{namespace}/sse`` and their ``messages/`` endpoints), behind the API's own auth.

The same :class:`~agent_memory.auth.AuthMiddleware` as the REST API authenticates every
request and leaves the principal in the ASGI scope, where each tool call reads it (see
``runtime.py``). Two more checks sit in front of the SDK's transport:

- a ``{namespace}`` path segment outside the caller's bounds is refused (403) before any
  MCP session exists;
- the caller is handed to the SDK as the request's ``user``, so the SDK binds every
  session (stateful streamable HTTP, SSE) to the caller that opened it: another token
  presenting the same session id is refused.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Literal

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.mcpserver import MCPServer
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from agent_memory.api._middleware import BodySizeLimit
from agent_memory.auth import AuthMiddleware
from agent_memory.errors import Forbidden
from agent_memory.mcp.runtime import Runtime
from agent_memory.mcp.server import build_server
from agent_memory.observability import Metrics, RequestObserver
from agent_memory.principal import Principal
from agent_memory.services.container import build_services
from agent_memory.settings import Settings

Transport = Literal["streamable-http", "sse"]


class CallerGate:
    """Refuse a path namespace outside the caller's bounds; name the caller to the SDK."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        principal = scope.get("principal")
        if isinstance(principal, Principal):
            namespace = scope.get("path_params", {}).get("namespace")
            if namespace is not None:
                try:
                    principal.scope_namespace(namespace)
                except Forbidden as exc:
                    await _refuse(exc, send)
                    return
            scope["user"] = AuthenticatedUser(
                AccessToken(token="", client_id=principal.subject, scopes=[]))
        await self.app(scope, receive, send)


async def _refuse(exc: Forbidden, send: Send) -> None:
    body = json.dumps(exc.body()).encode()
    await send({"type": "http.response.start", "status": exc.status_code,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


@dataclass
class McpHttp:
    """The MCP routes of one process and what must run while they serve.

    Attributes:
        runtime: Gets its ``services`` from the owning lifespan.
        server: The MCP server.
        routes: Starlette routes to serve.
        run: Context manager to hold open while serving (the SDK's session manager).
    """

    runtime: Runtime
    server: MCPServer
    routes: list[BaseRoute]
    run: Callable[[], AbstractAsyncContextManager[None]]


@asynccontextmanager
async def _nothing() -> AsyncIterator[None]:
    yield


def mcp_routes(settings: Settings, transport: Transport = "streamable-http", *,
               host: str | None = None, stateless: bool = False) -> McpHttp:
    """Routes serving MCP over ``transport``, for the MCP command or the API port.

    Args:
        settings: Process settings.
        transport: ``streamable-http`` or ``sse``.
        host: The address served (the SDK turns on DNS-rebinding protection for loopback);
            default ``MCP_HOST``.
        stateless: Keep no MCP session between requests (several processes share a port,
            and a session lives in one process only).

    Streamable HTTP answers in JSON (no SSE stream per call) and, unless ``stateless``,
    keeps sessions, so a client pays for ``initialize`` once, not on every call.
    """
    runtime = Runtime(settings)
    server = build_server(runtime)
    host = host or settings.mcp_host
    if transport == "streamable-http":
        server.streamable_http_app(json_response=True, stateless_http=stateless, host=host)
        manager = server.session_manager
        endpoint = CallerGate(manager.handle_request)
        return McpHttp(runtime, server, [Route("/mcp", endpoint), Route("/{namespace}/mcp",
                                                                         endpoint)],
                       manager.run)
    plain = CallerGate(server.sse_app(host=host))
    namespaced = CallerGate(server.sse_app(host=host))
    # Plain paths first: "/messages/" must not be read as a namespace called "messages".
    routes: list[BaseRoute] = [Route("/sse", plain), Route("/messages/", plain),
                               Mount("/{namespace}", app=namespaced)]
    return McpHttp(runtime, server, routes, _nothing)


def create_mcp_app(settings: Settings, transport: Transport = "streamable-http") -> Starlette:
    """The standalone MCP HTTP app (``agent-memory mcp --transport streamable-http|sse``)."""
    http = mcp_routes(settings, transport)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, object]]:
        services = await build_services(settings)
        http.runtime.services = services
        try:
            async with http.run():
                yield {"services": services}
        finally:
            await services.aclose()

    app = Starlette(routes=http.routes, lifespan=lifespan, middleware=[
        Middleware(RequestObserver, metrics=Metrics(), access_log=settings.access_log),
        Middleware(BodySizeLimit, max_bytes=settings.max_request_bytes),
        Middleware(AuthMiddleware, settings=settings, public_paths=[]),
    ])
    app.state.settings = settings
    return app
