"""Read grants of profile memory: each allowed read creates one, bound to the user, scope,
domain and purpose it was read for; its id is the revocation token.

A grant can be continued (re-read fresh data) until it expires or is revoked. Lookups are
within the caller's bounds: a grant of another tenant is "not found", never "forbidden",
so a token's existence is not revealed across tenants.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from agent_memory.errors import GrantExpired, GrantRevoked, NotFound
from agent_memory.principal import Principal
from agent_memory.storage.profile import ProfileStore


def iso(ts: float) -> str:
    """Epoch seconds as the contract's ISO 8601 UTC text (``2024-01-15T10:30:00Z``)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Grant:
    """One read grant (times are epoch seconds)."""

    id: str
    namespace: str | None
    user_id: str
    scope: str
    domain: str | None
    purpose: str
    purpose_class: str
    max_age_days: float | None
    created_at: float
    expires_at: float
    revoked_at: str | None = None


class GrantService:
    """Creates, finds and revokes grants."""

    def __init__(self, store: ProfileStore, ttl_seconds: int, retention_seconds: int) -> None:
        self.store = store
        self.ttl_seconds = ttl_seconds
        self.retention_seconds = retention_seconds

    def new(self, *, namespace: str | None, user_id: str, scope: str, domain: str | None,
            purpose: str, purpose_class: str, max_age_days: float | None, now: float) -> Grant:
        """A new grant (not stored yet: see :meth:`save`)."""
        return Grant(str(uuid.uuid4()), namespace, user_id, scope, domain, purpose,
                     purpose_class, max_age_days, now, now + self.ttl_seconds)

    async def save(self, grant: Grant) -> None:
        """Store a new grant for its lifetime plus the retention."""
        data = dict(vars(grant))  # flat fields: no need for asdict's deep copy
        data.pop("revoked_at")
        await self.store.add_grant(grant.namespace, grant.user_id, grant.id, data,
                                   self.ttl_seconds + self.retention_seconds)

    async def find(self, principal: Principal, token: uuid.UUID) -> Grant:
        """The grant of ``token`` within the caller's bounds.

        Raises:
            NotFound: no such grant, it is past its retention, or it is another tenant's.
        """
        found = await self.store.grant(str(token))
        if found is not None:
            data, revoked_at = found
            grant = Grant(**data, revoked_at=revoked_at)
            if principal.allows(grant.namespace, grant.user_id):
                return grant
        raise NotFound("revocation token not found", details={"revocation_token": str(token)})

    @staticmethod
    def check_usable(grant: Grant, now: float) -> None:
        """Raise unless the grant can still be read under.

        Raises:
            GrantRevoked: it was revoked (410).
            GrantExpired: its time is over (410).
        """
        details = {"revocation_token": grant.id, "expires_at": iso(grant.expires_at)}
        if grant.revoked_at is not None:
            raise GrantRevoked("this grant was revoked",
                               details={**details, "revoked_at": grant.revoked_at})
        if now >= grant.expires_at:
            raise GrantExpired("this grant has expired", details=details)

    async def revoke(self, grant: Grant, now: float) -> tuple[str, bool]:
        """Revoke a found grant: ``(revoked_at, already_revoked)``.

        Raises:
            NotFound: the grant disappeared since it was found.
        """
        result = await self.store.revoke(grant.id, iso(now))
        if result is None:
            raise NotFound("revocation token not found", details={"revocation_token": grant.id})
        first, revoked_at = result
        return revoked_at, not first
