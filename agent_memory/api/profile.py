"""Profile-memory routes: the contract's own paths (``/memory``, ``/memory/read``,
``/memory/read/continue``, ``/memory/revoke``) and the same under ``/v1/profile``.

Errors here use the contract's codes: bad input is ``invalid_request`` (422), a purpose
outside the policy ``policy_denied`` (403), an unknown token ``not_found`` (404), a revoked
or expired grant ``grant_revoked`` / ``grant_expired`` (410).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from agent_memory.api._http import endpoint, principal_of
from agent_memory.errors import ProfileInvalidRequest
from agent_memory.models.profile import (
    CreateProfileMemory,
    GrantToken,
    ProfileMemoryCreated,
    ProfileReadResult,
    ReadProfileMemory,
    RevokeResult,
)
from agent_memory.services.profile import ProfileService

TAGS = ("profile",)
V1_PREFIX = "/profile"  # inside the /v1 mount: /v1/profile/memory, ...
BAD = {422: "invalid_request: a field, the value's shape or ttl_days is wrong"}
TOKEN = {404: "not_found: no such token (or another tenant's)",
         410: "grant_revoked / grant_expired", **BAD}


def _service(request: Request) -> ProfileService:
    return request.state.services.profile


async def create_memory(request: Request, body: CreateProfileMemory) -> ProfileMemoryCreated:
    """Store one structured value under a scope; it is in Redis before the answer."""
    return await _service(request).create(principal_of(request), body)


async def read_memory(request: Request, body: ReadProfileMemory) -> ProfileReadResult:
    """Read a scope merged, for a purpose the policy allows; answers a revocable grant."""
    return await _service(request).read(principal_of(request), body)


async def continue_read(request: Request, body: GrantToken) -> ProfileReadResult:
    """Re-read fresh data under an earlier read's grant (same token)."""
    return await _service(request).continue_read(principal_of(request), body.revocation_token)


async def revoke_grant(request: Request, body: GrantToken) -> RevokeResult:
    """Revoke a grant; continuing it is refused from then on."""
    return await _service(request).revoke(principal_of(request), body.revocation_token)


def declare(prefix: str) -> list[Route]:
    """The four routes under ``prefix`` ("" for the contract's own paths)."""
    common = {"tags": TAGS, "invalid": ProfileInvalidRequest.from_validation}
    return [
        endpoint("POST", f"{prefix}/memory", summary="Create a profile memory",
                 body=CreateProfileMemory, response=ProfileMemoryCreated,
                 extra_responses=BAD, **common)(create_memory),  # type: ignore[arg-type]
        endpoint("POST", f"{prefix}/memory/read", summary="Read a profile scope for a purpose",
                 body=ReadProfileMemory, response=ProfileReadResult,
                 extra_responses={403: "policy_denied: purpose not allowed for the scope", **BAD},
                 **common)(read_memory),  # type: ignore[arg-type]
        endpoint("POST", f"{prefix}/memory/read/continue", summary="Continue a profile read",
                 body=GrantToken, response=ProfileReadResult,
                 extra_responses={403: "policy_denied", **TOKEN},
                 **common)(continue_read),  # type: ignore[arg-type]
        endpoint("POST", f"{prefix}/memory/revoke", summary="Revoke a profile read grant",
                 body=GrantToken, response=RevokeResult, extra_responses=TOKEN,
                 **common)(revoke_grant),  # type: ignore[arg-type]
    ]


root_routes: list[Route] = declare("")
"""The contract's paths, mounted at the top level beside ``/v1``."""

routes: list[Route] = declare(V1_PREFIX)
"""The same routes inside ``/v1``."""
