"""Scoped profile memory: create structured values, read them merged for an allowed purpose
under a grant, continue and revoke grants. Every read, continuation, denial and revocation
goes to the audit trail with identifiers and categories only, never values or purposes.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
import uuid
from collections.abc import Callable
from typing import Any

from agent_memory.errors import ClientError, ProfileInvalidRequest, PolicyDenied
from agent_memory.models.profile import (
    CreateProfileMemory,
    ProfileMemoryCreated,
    ProfileReadResult,
    ReadProfileMemory,
    RevokeResult,
)
from agent_memory.principal import Principal
from agent_memory.services.audit import AuditTrail
from agent_memory.services.grants import Grant, GrantService, iso
from agent_memory.services.profile_values import merge, normalize
from agent_memory.services.purpose import PurposeClassifier
from agent_memory.storage.profile import ProfileRecord, ProfileStore

MAX_VALUE_CHARS = 16_384  # one profile value, as compact JSON
DAY = 86_400.0


class ProfileService:
    """The profile door's rules. ``clock`` (epoch seconds) is settable for tests."""

    def __init__(self, store: ProfileStore, grants: GrantService, classifier: PurposeClassifier,
                 policy: dict[str, list[str]], audit: AuditTrail,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.grants = grants
        self.classifier = classifier
        self.policy = policy
        self.audit = audit
        self.clock = clock

    async def create(self, principal: Principal, body: CreateProfileMemory) -> ProfileMemoryCreated:
        """Validate the value against the scope's shapes and store it (before answering).

        Raises:
            ProfileInvalidRequest: the value fits no shape the scope accepts, or is too large.
        """
        namespace = principal.scope_namespace(body.namespace)
        user_id = principal.scope_user(body.user_id) or body.user_id
        shape, value = normalize(body.scope, body.value_json)
        if len(json.dumps(value, ensure_ascii=False, separators=(",", ":"))) > MAX_VALUE_CHARS:
            raise ProfileInvalidRequest(f"value_json is over {MAX_VALUE_CHARS} characters",
                                 loc=("body", "value_json"), details={"max_chars": MAX_VALUE_CHARS})
        now = self.clock()
        ttl = None if body.ttl_days is None else body.ttl_days * DAY
        record = ProfileRecord(id=str(uuid.uuid4()), user_id=user_id, scope=body.scope,
                               domain=body.domain, source=body.source, shape=shape, value=value,
                               created_at=now, expires_at=None if ttl is None else now + ttl)
        await self.store.add(namespace, record, None if ttl is None else math.ceil(ttl))
        return ProfileMemoryCreated(
            id=record.id, user_id=user_id, scope=record.scope, domain=record.domain,
            created_at=iso(now),
            expires_at=None if record.expires_at is None else iso(record.expires_at))

    async def read(self, principal: Principal, body: ReadProfileMemory) -> ProfileReadResult:
        """Classify the purpose, check the policy, merge, and grant.

        Raises:
            PolicyDenied: the purpose's class is not allowed for the scope (403).
        """
        namespace = principal.scope_namespace(body.namespace)
        user_id = principal.scope_user(body.user_id) or body.user_id
        classified = await self.classifier.classify(body.purpose)
        where = {"namespace": namespace, "user_id": user_id}
        details: dict[str, Any] = {"scope": body.scope, "purpose_class": classified.purpose_class,
                                   "classified_by": classified.method}
        allowed = self.policy.get(body.scope, [])
        if classified.purpose_class not in allowed:
            await self.audit.record("profile.denied", principal=principal, **where,
                                    method="policy", outcome="denied", details=details)
            raise PolicyDenied.for_purpose(body.scope, body.purpose, allowed)
        now = self.clock()
        grant = self.grants.new(
            namespace=namespace, user_id=user_id, scope=body.scope, domain=body.domain,
            purpose=body.purpose, purpose_class=classified.purpose_class,
            max_age_days=body.max_age_days, now=now)
        # The three go out in one write on the shared connection (one round trip). The
        # token is handed out only once the grant is stored; the audit event is written
        # even if the answer then fails (an audit trail may over-report, never under-report).
        result, _, _ = await asyncio.gather(
            self._merged(grant, now), self.grants.save(grant),
            self.audit.record("profile.read", principal=principal, **where, outcome="allowed",
                              ids=[grant.id], details={**details, "grant_id": grant.id}))
        return result

    async def continue_read(self, principal: Principal, token: uuid.UUID) -> ProfileReadResult:
        """Re-read fresh data under an existing grant (same token, same expiry).

        Raises:
            NotFound: unknown token, or another tenant's (404).
            GrantRevoked, GrantExpired: the grant can no longer be used (410).
            PolicyDenied: the policy no longer allows the grant's purpose class (403).
        """
        grant = await self._find(principal, token, "profile.continue")
        now = self.clock()
        where = {"namespace": grant.namespace, "user_id": grant.user_id}
        details = {"scope": grant.scope, "purpose_class": grant.purpose_class,
                   "grant_id": grant.id}
        try:
            self.grants.check_usable(grant, now)
            allowed = self.policy.get(grant.scope, [])
            if grant.purpose_class not in allowed:
                raise PolicyDenied.for_purpose(grant.scope, grant.purpose, allowed)
        except ClientError as exc:
            denied = isinstance(exc, PolicyDenied)
            await self.audit.record("profile.denied" if denied else "profile.continue",
                                    principal=principal, **where,
                                    method="policy" if denied else None,
                                    outcome="denied" if denied else exc.code,
                                    ids=[grant.id], details=details)
            raise
        result, _ = await asyncio.gather(
            self._merged(grant, now),
            self.audit.record("profile.continue", principal=principal, **where,
                              outcome="allowed", ids=[grant.id], details=details))
        return result

    async def revoke(self, principal: Principal, token: uuid.UUID) -> RevokeResult:
        """Revoke a grant; revoking again answers the first revocation's time.

        Raises:
            NotFound: unknown token, or another tenant's (404).
        """
        grant = await self._find(principal, token, "profile.revoke")
        revoked_at, already = await self.grants.revoke(grant, self.clock())
        await self.audit.record(
            "profile.revoke", principal=principal, namespace=grant.namespace,
            user_id=grant.user_id, outcome="already_revoked" if already else "revoked",
            ids=[grant.id], details={"scope": grant.scope, "purpose_class": grant.purpose_class,
                                     "grant_id": grant.id})
        return RevokeResult(revoked=True, revoked_at=revoked_at, already_revoked=already)

    async def erase_user(self, namespace: str | None, user_id: str) -> dict[str, int]:
        """Remove a user's profile memories and grants (for the erase service)."""
        return await self.store.erase_user(namespace, user_id)

    async def _find(self, principal: Principal, token: uuid.UUID, action: str) -> Grant:
        try:
            return await self.grants.find(principal, token)
        except ClientError as exc:
            # Recorded without a tenant: only admins see attempts on unknown tokens.
            await self.audit.record(action, principal=principal, outcome=exc.code,
                                    details={"grant_id": str(token)})
            raise

    async def _merged(self, grant: Grant, now: float) -> ProfileReadResult:
        records = await self.store.records(grant.namespace, grant.user_id, grant.scope)
        oldest = None if grant.max_age_days is None else now - grant.max_age_days * DAY
        live = [r for r in records
                if (r.expires_at is None or r.expires_at > now)
                and (grant.domain is None or r.domain == grant.domain)
                and (oldest is None or r.created_at >= oldest)]
        merged = merge(grant.scope, live, now)
        return ProfileReadResult(summary_text=merged.text, summary_struct=merged.struct,
                                 confidence=merged.confidence, revocation_token=grant.id,
                                 expires_at=iso(grant.expires_at))
