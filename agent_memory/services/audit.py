"""The audit trail: who deleted, restored, erased, read or changed what, and why.

Every store reports here. An event names the action, the principal, the tenant, the method
and reason, the ids and counts it concerns; never the content of a memory.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agent_memory.models.audit import AuditEvent, AuditPage, AuditQueryParams
from agent_memory.principal import Principal
from agent_memory.storage.audit import AuditStore

SYSTEM_SUBJECT = "system"  # background work that no caller started (schedules, TTL expiry)
MAX_REASON_CHARS = 500


@dataclass(frozen=True)
class AuditQuery:
    """Filters of an audit listing (all optional; ``after`` is the previous page's cursor)."""

    user_id: str | None = None
    namespace: str | None = None
    method: str | None = None
    action: str | None = None
    since_ms: int | None = None
    until_ms: int | None = None
    after: str | None = None
    limit: int = 100


class AuditTrail:
    """Records audit events and lists them within a caller's bounds."""

    def __init__(self, store: AuditStore) -> None:
        self.store = store

    async def record(self, action: str, *, principal: Principal | None,
                     namespace: str | None = None, user_id: str | None = None,
                     method: str | None = None, reason: str | None = None,
                     ids: Sequence[str] = (), counts: Mapping[str, int] | None = None,
                     outcome: str | None = None,
                     details: Mapping[str, Any] | None = None) -> str:
        """Append one event; returns its id. ``details`` must hold identifiers and
        categories only (scope, purpose class, grant id), never memory content.

        Args:
            action: What happened, dotted (``memory.delete``, ``user.erase``,
                ``profile.read``, ``token.add``).
            principal: Who did it; ``None`` for the server's own scheduled work.
            method: How (``api_delete``, ``user_request``, ``gdpr_request``, ``policy``,
                ``erase``).
        """
        event: dict[str, Any] = {
            "action": action,
            "subject": principal.subject if principal is not None else SYSTEM_SUBJECT,
            "namespace": namespace,
            "user_id": user_id,
            "method": method,
            "reason": reason[:MAX_REASON_CHARS] if reason else None,
            "ids": list(ids) if ids else None,
            "counts": dict(counts) if counts else None,
            "outcome": outcome,
            "details": dict(details) if details else None,
        }
        return await self.store.append(event)

    async def list(self, principal: Principal, query: AuditQuery) -> tuple[list[dict[str, Any]],
                                                                         str | None]:
        """One page of events within the caller's bounds, oldest first, and the cursor of
        the next page (``None`` at the end).

        A namespace-bound caller sees only events of its namespaces (and of its user, when
        bound to one); the filters narrow further, never widen.
        """
        if query.namespace is not None:
            principal.check_namespaces([query.namespace])
        if principal.user_id is not None and query.user_id not in (None, principal.user_id):
            principal.scope_user(query.user_id)  # raises Forbidden
        page: list[dict[str, Any]] = []
        after = query.after
        while len(page) < query.limit:
            batch = await self.store.read(after=after, since_ms=query.since_ms,
                                          until_ms=query.until_ms, count=500)
            if not batch:
                return page, None
            for event in batch:
                after = event["id"]
                if self._visible(principal, query, event):
                    page.append(event)
                    if len(page) == query.limit:
                        return page, after
        return page, after

    @staticmethod
    def _visible(principal: Principal, query: AuditQuery, event: Mapping[str, Any]) -> bool:
        if not principal.allows(event.get("namespace"), event.get("user_id")):
            return False
        wanted = {"user_id": query.user_id, "namespace": query.namespace,
                  "method": query.method, "action": query.action}
        return all(v is None or event.get(k) == v for k, v in wanted.items())


async def audit_page(trail: AuditTrail, principal: Principal, params: AuditQueryParams
                     ) -> AuditPage:
    """One page of ``GET /v1/audit`` (and of ``agent-memory audit``)."""
    from datetime import UTC, datetime

    def ms(value: datetime | None) -> int | None:
        # Stream ids start at 0: a time before 1970 means "from the start".
        return None if value is None else max(0, int(value.timestamp() * 1000))

    if params.until is not None and params.until.timestamp() < 0:
        return AuditPage(events=[], next_cursor=None)  # nothing was recorded before 1970

    query = AuditQuery(user_id=params.user_id, namespace=params.namespace,
                       method=params.method, action=params.action, since_ms=ms(params.since),
                       until_ms=ms(params.until), after=params.cursor, limit=params.limit)
    events, cursor = await trail.list(principal, query)
    out = []
    for event in events:
        at = datetime.fromtimestamp(event["at_ms"] / 1000, UTC).isoformat()
        out.append(AuditEvent.model_validate(
            {k: v for k, v in event.items() if k != "at_ms"} | {"at": at}))
    return AuditPage(events=out, next_cursor=cursor)
