"""How long-term memories are deleted: one path, a method and reason, and its trail.

Every delete (the forget route, AMS's ``DELETE /long-term-memory``, forgetting passes,
compaction, TTL expiry) is a soft delete: the record moves to the trash (see
``storage/trash.py``), leaves every read at once, and is purged for good after
``SOFT_DELETE_GRACE_DAYS``. Each call leaves one audit event per tenant it touched (never
the text) and a ``deleted`` provenance event per memory. Erase is the one exception: it
removes a person's data at once, with no grace.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agent_memory.principal import Principal
from agent_memory.services.audit import SYSTEM_SUBJECT, AuditTrail
from agent_memory.services.provenance import ProvenanceLog

GDPR_REQUEST = "gdpr_request"
USER_REQUEST = "user_request"
API_DELETE = "api_delete"
POLICY = "policy"
ERASE = "erase"
METHODS = (GDPR_REQUEST, USER_REQUEST, API_DELETE, POLICY, ERASE)
CALLER_METHODS = (GDPR_REQUEST, USER_REQUEST, API_DELETE)  # what a client may name itself

# A reason citing an erasure request: GDPR Article 17 (any spelling of "art. 17"), the
# right to be forgotten / to erasure, or the regulation by name.
_ERASURE = re.compile(
    r"\bgdpr\b|\bart(?:icle|\.)?\s*17\b|right\s+to\s+(?:be\s+forgotten|erasure)"
    r"|general\s+data\s+protection\s+regulation",
    re.IGNORECASE)


def deletion_method(reason: str | None, explicit: str | None = None,
                    default: str = USER_REQUEST) -> str:
    """The method a delete is recorded under (a rule, no model).

    An explicit method wins; otherwise a reason citing an erasure request (GDPR Article
    17, "right to be forgotten", "right to erasure") makes it ``gdpr_request``; otherwise
    ``default``.

    Example:
        >>> deletion_method("User data subject request under GDPR Article 17")
        'gdpr_request'
    """
    if explicit is not None:
        return explicit
    if reason and _ERASURE.search(reason):
        return GDPR_REQUEST
    return default


@dataclass(frozen=True)
class Deletion:
    """Why and by whom memories are deleted (``principal`` ``None``: the server itself)."""

    method: str
    reason: str | None = None
    principal: Principal | None = None
    action: str = "memory.delete"
    details: Mapping[str, Any] = field(default_factory=dict)


Scopes = Mapping[str, tuple[str | None, str | None]]  # memory id -> (namespace, user_id)


def by_tenant(scopes: Scopes) -> dict[tuple[str | None, str | None], list[str]]:
    """Ids grouped by ``(namespace, user_id)``, in the order given."""
    groups: dict[tuple[str | None, str | None], list[str]] = defaultdict(list)
    for memory_id, scope in scopes.items():
        groups[scope].append(memory_id)
    return dict(groups)


class DeletionTrail:
    """Reports deletes, restores and purges to the audit trail and to provenance."""

    def __init__(self, audit: AuditTrail, provenance: ProvenanceLog) -> None:
        self.audit = audit
        self.provenance = provenance

    async def deleted(self, scopes: Scopes, deletion: Deletion, purge_after: str) -> None:
        """One audit event per tenant, one ``deleted`` provenance event per memory."""
        if not scopes:
            return
        await self.provenance.record_many(list(scopes), "deleted", method=deletion.method,
                                          by=self._subject(deletion.principal),
                                          purge_after=purge_after)
        for (namespace, user_id), ids in by_tenant(scopes).items():
            await self.audit.record(deletion.action, principal=deletion.principal,
                                    namespace=namespace, user_id=user_id,
                                    method=deletion.method, reason=deletion.reason, ids=ids,
                                    counts={"deleted": len(ids)}, outcome="soft_deleted",
                                    details={**deletion.details, "purge_after": purge_after})

    async def restored(self, memory_id: str, namespace: str | None, user_id: str | None,
                       principal: Principal, method: str) -> None:
        """A memory came back from the trash."""
        await self.provenance.record(memory_id, "restored", by=principal.subject,
                                     deleted_method=method)
        await self.audit.record("memory.restore", principal=principal, namespace=namespace,
                                user_id=user_id, ids=[memory_id], counts={"restored": 1},
                                outcome="restored", details={"deleted_method": method})

    async def purged(self, scopes: Scopes, grace_days: float) -> None:
        """Memories left the trash for good: their provenance goes, the audit keeps ids."""
        if not scopes:
            return
        await self.provenance.forget(list(scopes))
        for (namespace, user_id), ids in by_tenant(scopes).items():
            await self.audit.record("memory.purge", principal=None, namespace=namespace,
                                    user_id=user_id, method=POLICY,
                                    reason=f"soft-delete grace of {grace_days:g} days over",
                                    ids=ids, counts={"purged": len(ids)}, outcome="purged")

    @staticmethod
    def _subject(principal: Principal | None) -> str:
        return principal.subject if principal is not None else SYSTEM_SUBJECT


def ids_in_order(ids: Sequence[str]) -> list[str]:
    """Non-empty ids, first occurrence kept."""
    return list(dict.fromkeys(i for i in ids if i))
