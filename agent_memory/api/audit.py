"""``GET /v1/audit``: the audit trail, within the caller's bounds (issue 16)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from agent_memory.api._http import endpoint, principal_of
from agent_memory.models.audit import AuditPage, AuditQueryParams
from agent_memory.services.audit import audit_page

TAGS = ("audit",)


@endpoint("GET", "/audit", summary="List audit events", query=AuditQueryParams,
          response=AuditPage, tags=TAGS, extra_responses={403: "Filter outside the bounds"})
async def list_audit(request: Request, query: AuditQueryParams) -> AuditPage:
    """Deletes, restores, purges, erases and token changes, oldest first, filtered by
    user, namespace, method, action and time range, paged with ``cursor``. An admin sees
    every event; a namespace-bound token only those of its namespaces (and of its user,
    when bound to one)."""
    return await audit_page(request.state.services.audit, principal_of(request), query)


routes: list[Route] = [list_audit]
