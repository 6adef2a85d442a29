"""Pure ASGI middleware: request id, request metrics and the JSON access log.

It sits outermost in the app's middleware list, so 413s from the body limit and 401s from
auth are counted and carry the request id too. Pure ASGI (no ``BaseHTTPMiddleware``) keeps
context variables flowing into handlers: the request id and the bound :class:`Metrics`.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agent_memory.observability import metrics as metrics_module
from agent_memory.observability.logging import (
    REQUEST_ID_HEADER,
    accept_request_id,
    access_logger,
    bind_request_id,
    reset_request_id,
)
from agent_memory.observability.metrics import Metrics
from agent_memory.openapi import declared_routes

UNMATCHED = "<unmatched>"  # one label for every unknown path: ids must not become labels


def route_template(scope: Scope, canonical: dict[Any, str]) -> str:
    """The matched route's path template with its mount prefix (``/v1/health``).

    Starlette leaves the innermost matched route in ``scope["route"]`` and the mount prefix in
    ``root_path``. Routes declared with ``endpoint(...)`` are looked up by their endpoint in
    ``canonical`` so both trailing-slash twins share the canonical spelling as their label.
    """
    route = scope.get("route")
    prefix = scope.get("root_path", "")[len(scope.get("app_root_path", "")):]
    if isinstance(route, Mount):
        # A router mount left here matched nothing inside; a mounted app (the docs assets)
        # gets one label for all its paths.
        return UNMATCHED if route.routes else (prefix or route.path)
    if not isinstance(route, Route):
        return UNMATCHED
    known = canonical.get(route.endpoint)
    if known is not None:
        return known
    return prefix + route.path


def canonical_templates(app: Any) -> dict[Any, str]:
    """``{endpoint: full canonical path}`` for every declared route of ``app``."""
    return {d.route.endpoint: d.path for d in declared_routes(getattr(app, "routes", ()))}


class RequestObserver:
    """Give each request an id (``X-Request-ID``, echoed), time it, count it, log it.

    Args:
        app: The wrapped application.
        metrics: Where request metrics go; also bound for code the request runs.
        access_log: Write one JSON line per request (``ACCESS_LOG``).
    """

    def __init__(self, app: ASGIApp, metrics: Metrics, access_log: bool = False) -> None:
        self.app = app
        self.metrics = metrics
        self.log = access_logger(access_log)
        self.canonical: dict[Any, str] | None = None  # built on first request: routes are fixed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            metrics_token = metrics_module.bind(self.metrics)
            try:
                await self.app(scope, receive, send)
            finally:
                metrics_module.unbind(metrics_token)
            return
        sent = None
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                sent = value.decode("latin-1")
                break
        request_id = accept_request_id(sent)
        header = (REQUEST_ID_HEADER.encode(), request_id.encode())
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        id_token = bind_request_id(request_id)
        metrics_token = metrics_module.bind(self.metrics)
        self.metrics.http_in_flight.inc()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            # An exception here becomes a 500 in Starlette's outer error middleware: it is
            # still counted (status stays 500) before it propagates.
            seconds = time.perf_counter() - started
            self.metrics.http_in_flight.dec()
            method = scope.get("method", "GET")
            if self.canonical is None:
                self.canonical = canonical_templates(scope.get("app"))
            route = route_template(scope, self.canonical)
            self.metrics.observe_request(method, route, status, seconds)
            if self.log is not None:
                self._access(scope, method, route, status, seconds, request_id)
            metrics_module.unbind(metrics_token)
            reset_request_id(id_token)

    def _access(self, scope: Scope, method: str, route: str, status: int, seconds: float,
                request_id: str) -> None:
        fields: dict[str, Any] = {
            "event": "request",
            "method": method,
            "route": route,
            "path": scope.get("path", ""),
            "status": status,
            "duration_ms": round(seconds * 1000, 3),
            "request_id": request_id,
        }
        client = scope.get("client")
        if client:
            fields["client"] = client[0]
        assert self.log is not None
        self.log.log(logging.INFO, "request", extra={"fields": fields})
