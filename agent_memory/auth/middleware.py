"""Pure ASGI auth middleware: every request but the public paths needs a valid bearer token.

It puts the caller's :class:`~agent_memory.principal.Principal` in ``scope["principal"]``
(routes read it with ``principal_of(request)``). Errors are rendered here, in the server's
one error shape, because this middleware sits outside Starlette's exception handlers.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Protocol

from starlette.types import ASGIApp, Receive, Scope, Send

from agent_memory.errors import MemoryServerError, ServiceUnavailable, Unauthorized
from agent_memory.principal import LOCAL_ADMIN, Principal
from agent_memory.settings import AuthMode, Settings
from agent_memory.storage.auth_tokens import TokenStore

from .mode import resolve_auth_mode
from .oauth2 import OAuth2Authenticator
from .tokens import TokenAuthenticator

log = logging.getLogger(__name__)

ANONYMOUS = Principal(subject="anonymous", namespaces=frozenset())
"""The caller of a public path when auth is on: bound to no namespace, so allowed nothing."""

DOCS_PATHS = ("/docs", "/redoc", "/openapi.json", "/v1/openapi.json")
"""Always reachable without credentials (with their sub-paths, for docs assets)."""


class Authenticator(Protocol):
    """Checks one bearer credential."""

    async def authenticate(self, bearer: str) -> Principal: ...


class AuthMiddleware:
    """Authenticate every HTTP request except those to ``public_paths``.

    Args:
        app: The wrapped application.
        settings: Decides the mode (see :func:`resolve_auth_mode`) and its parameters.
        public_paths: Full paths served without credentials (``/v1/health``, ...); matched
            exactly, ignoring one trailing slash. :data:`DOCS_PATHS` are always added.
        authenticator: Override for the mode's checker (tests, benchmarks).

    In ``token`` mode the token store is built on first use from the Redis pool the
    lifespan created (``scope["state"]["services"].redis``): one pool per process.
    """

    def __init__(self, app: ASGIApp, settings: Settings, public_paths: Iterable[str] = (),
                 authenticator: Authenticator | None = None) -> None:
        self.app = app
        self.mode = resolve_auth_mode(settings)
        self.exact = {p.rstrip("/") or "/" for p in (*public_paths, *DOCS_PATHS)}
        self.prefixes = tuple(p + "/" for p in DOCS_PATHS)
        self.authenticator = authenticator
        if self.mode is AuthMode.disabled:
            log.warning("AUTH IS DISABLED (AUTH_MODE=disabled): every caller is an admin and can "
                        "read and write every tenant's memory. Never expose this server.")
        elif self.mode is AuthMode.oauth2 and authenticator is None:
            self.authenticator = OAuth2Authenticator(settings)

    def is_public(self, path: str) -> bool:
        """True for paths reachable without credentials."""
        return (path.rstrip("/") or "/") in self.exact or path.startswith(self.prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):  # lifespan
            await self.app(scope, receive, send)
            return
        if self.mode is AuthMode.disabled:
            scope["principal"] = LOCAL_ADMIN
            await self.app(scope, receive, send)
            return
        if self.is_public(scope["path"]):
            # Public routes need no caller; should one ever read data it sees nothing
            # (principal_of refuses a request without one, so never leave the key unset).
            scope["principal"] = ANONYMOUS
            await self.app(scope, receive, send)
            return
        try:
            bearer = _bearer(scope)
            scope["principal"] = await self._authenticator(scope).authenticate(bearer)
        except MemoryServerError as exc:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008, "reason": exc.message[:120]})
            else:
                await _render(exc, send)
            return
        await self.app(scope, receive, send)

    def _authenticator(self, scope: Scope) -> Authenticator:
        if self.authenticator is None:
            services = (scope.get("state") or {}).get("services")
            if services is None:
                raise ServiceUnavailable("the server is still starting")
            self.authenticator = TokenAuthenticator(TokenStore(services.redis))
        return self.authenticator


def _bearer(scope: Scope) -> str:
    """The credential of an ``Authorization: Bearer <token>`` header."""
    values = [v for k, v in scope.get("headers", ()) if k == b"authorization"]
    if not values:
        raise Unauthorized("missing authorization header")
    if len(values) > 1:
        raise Unauthorized("several authorization headers")
    try:
        scheme, _, credential = values[0].decode("ascii").strip().partition(" ")
    except UnicodeDecodeError:
        raise Unauthorized("malformed authorization header") from None
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential or " " in credential:
        raise Unauthorized("expected 'Authorization: Bearer <token>'")
    return credential


async def _render(exc: MemoryServerError, send: Send) -> None:
    body = json.dumps(exc.body()).encode()
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in (exc.headers() or {}).items()]
    if exc.status_code == 503:
        headers.append((b"retry-after", b"1"))
    await send({"type": "http.response.start", "status": exc.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})
