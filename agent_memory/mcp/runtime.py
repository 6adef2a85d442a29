"""What every MCP tool call shares: the services, and who is calling in *this* call.

The caller of a call is worked out from that call alone. Over HTTP the SDK hands each tool
the Starlette request that carried the JSON-RPC message (``ctx.request_context.request``);
its scope holds the principal our auth middleware put there and the ``{namespace}`` path
segment. Nothing per-call is ever stored on a shared object (AMS kept the last request on
its server instance, so concurrent calls could read each other's namespace). Over stdio
there is no request: the principal comes from configuration (``MCP_TOKEN``, checked on
every call so a revoked token stops working, or the local admin when auth is disabled).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pydantic_core
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel, ValidationError
from redis.exceptions import RedisError
from starlette.requests import Request

from agent_memory.api._http import principal_of, validation_details
from agent_memory.auth import (
    AuthConfigError,
    OAuth2Authenticator,
    TokenAuthenticator,
    resolve_auth_mode,
)
from agent_memory.errors import (
    FeatureDisabled,
    MemoryServerError,
    ServiceUnavailable,
    StorageError,
    Unauthorized,
    ValidationFailed,
)
from agent_memory.principal import LOCAL_ADMIN, Principal
from agent_memory.services.container import Services
from agent_memory.services.long_term import LongTermService
from agent_memory.settings import AuthMode, Settings
from agent_memory.storage.auth_tokens import TokenStore

log = logging.getLogger(__name__)

Invalid = Callable[[ValidationFailed], MemoryServerError]
"""A door's own 422 (e.g. ``invalid_request``) built from the generic one."""


def within_path_namespace(principal: Principal, namespace: str | None) -> Principal:
    """The principal of a call made through ``/{namespace}/mcp``: bound to that namespace.

    The segment must be within the caller's own bounds (403 otherwise); the call is then
    narrowed to it, so no tool argument can reach past it.
    """
    if namespace is None:
        return principal
    principal.scope_namespace(namespace)  # Forbidden when outside the bounds
    return Principal(subject=principal.subject, namespaces=frozenset({namespace}),
                     user_id=principal.user_id)


@dataclass(frozen=True)
class Call:
    """One tool call: its caller, the services, and the defaults AMS applied.

    Attributes:
        principal: The caller, already narrowed to a path namespace.
        services: The process's services.
        namespace: Namespace to use when an argument leaves it out (the path segment, else
            ``DEFAULT_MCP_NAMESPACE``).
        user_id: User to use when an argument leaves it out (``DEFAULT_MCP_USER_ID``).
    """

    principal: Principal
    services: Services
    namespace: str | None = None
    user_id: str | None = None

    @property
    def long_term(self) -> LongTermService:
        """The long-term service, or the same error REST gives when it is switched off."""
        if not self.services.settings.long_term_memory or self.services.long_term is None:
            raise FeatureDisabled("Long-term memory is disabled")
        return self.services.long_term


class StdioIdentity:
    """The caller of a stdio session, from configuration.

    Args:
        settings: ``AUTH_MODE`` (and its parameters) and ``MCP_TOKEN``.

    Raises:
        AuthConfigError: Auth is on but ``MCP_TOKEN`` is not set.
    """

    def __init__(self, settings: Settings) -> None:
        self.mode = resolve_auth_mode(settings)
        secret = settings.mcp_token.get_secret_value() if settings.mcp_token else None
        self.secret = secret
        self._oauth2: OAuth2Authenticator | None = None
        if self.mode is AuthMode.disabled:
            log.warning("AUTH IS DISABLED (AUTH_MODE=disabled): this MCP session is the local "
                        "admin and can read and write every tenant's memory.")
            if secret:
                log.warning("MCP_TOKEN is ignored while AUTH_MODE=disabled")
        elif not secret:
            raise AuthConfigError(f"AUTH_MODE={self.mode.value} needs MCP_TOKEN for the stdio "
                                  "transport (the token or JWT this session acts as)")
        elif self.mode is AuthMode.oauth2:
            self._oauth2 = OAuth2Authenticator(settings)

    async def principal(self, services: Services) -> Principal:
        """Who this session is, checked now (a revoked token fails on its next call)."""
        if self.mode is AuthMode.disabled:
            return LOCAL_ADMIN
        assert self.secret is not None
        if self._oauth2 is not None:
            return await self._oauth2.authenticate(self.secret)
        return await TokenAuthenticator(TokenStore(services.redis)).authenticate(self.secret)


class Runtime:
    """The services of this process and how a call finds its caller.

    Args:
        settings: Process settings.
        stdio: The configured identity when serving stdio; ``None`` over HTTP, where every
            call must arrive in an authenticated request.

    ``services`` is set once by whichever lifespan owns them (the MCP command's, or the
    API's when ``MCP_ON_API=true``) before any call is served.
    """

    def __init__(self, settings: Settings, stdio: StdioIdentity | None = None) -> None:
        self.settings = settings
        self.stdio = stdio
        self.services: Services | None = None

    async def _principal(self, ctx: Context[Any, Any]) -> tuple[Principal, str | None]:
        services = self.services
        assert services is not None
        request = ctx.request_context.request if ctx.request_context is not None else None
        if isinstance(request, Request):
            namespace = request.path_params.get("namespace")
            return within_path_namespace(principal_of(request), namespace), namespace
        if self.stdio is None:
            raise Unauthorized("no authenticated caller")
        return await self.stdio.principal(services), None

    @asynccontextmanager
    async def call(self, ctx: Context[Any, Any],
                   invalid: Invalid | None = None) -> AsyncIterator[Call]:
        """Resolve this call's caller; turn our errors into MCP tool errors.

        A client error becomes a tool error whose text is the REST error body (``detail``
        and ``error``), so a model reads the same message a REST client would.

        Args:
            ctx: The SDK's context of this call.
            invalid: How the door renders arguments that do not validate, when its REST
                routes use their own error (as their ``endpoint(invalid=...)``).
        """
        try:
            if self.services is None:
                raise ServiceUnavailable("the server is still starting")
            principal, path_namespace = await self._principal(ctx)
            yield Call(principal, self.services,
                       namespace=path_namespace or self.settings.default_mcp_namespace,
                       user_id=self.settings.default_mcp_user_id)
        except ValidationError as exc:
            raise ToolError(invalid_arguments(exc, invalid)) from None
        except MemoryServerError as exc:
            if exc.status_code >= 500:
                log.warning("MCP tool call failed: %s", exc)
            raise ToolError(_render(exc)) from None
        except RedisError as exc:
            log.warning("MCP tool call: Redis error %s", type(exc).__name__)
            raise ToolError(_render(StorageError("Redis is unavailable; retry shortly"))) from None


def invalid_arguments(exc: ValidationError, invalid: Invalid | None = None) -> str:
    """A tool error's text for arguments that do not validate (REST's 422 body, or the
    door's own rendering of it)."""
    details = _without_inputs(validation_details(exc, "arguments"))
    failed = ValidationFailed("invalid arguments", details=details)
    return _render(invalid(failed) if invalid is not None else failed)


def _without_inputs(details: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # The SDK logs a tool error's text: never let rejected values (memory text) into logs.
    return [{k: v for k, v in item.items() if k != "input"} for item in details]


def _render(exc: MemoryServerError) -> str:
    """A tool error's text: one line a model can act on, then the REST error body (with the
    HTTP status it stands for) for programs.

    Example:
        ``not_found: Session s1 not found`` then ``{"detail": ..., "error": ..., "status": 404}``
    """
    summary = exc.message
    if isinstance(exc, ValidationFailed) and isinstance(exc.details, list):
        summary = "; ".join(f"{'.'.join(str(p) for p in d.get('loc', [])[1:]) or 'arguments'}: "
                            f"{d.get('msg')}" for d in exc.details)
    return f"{exc.code}: {summary}\n" + json.dumps({**exc.body(), "status": exc.status_code})


def reply(value: BaseModel | dict[str, Any]) -> CallToolResult:
    """A tool's answer: the REST response as structured content and as compact JSON text.

    No output schema is declared: the SDK's Python client validates every result against
    one with ``jsonschema``, which costs more than the server spends on a search (7.5 ms
    for ten memories on our busy machine; ``scripts/bench_mcp.py``).
    """
    data = value.model_dump(mode="json") if isinstance(value, BaseModel) else value
    text = pydantic_core.to_json(data).decode()
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=data)
