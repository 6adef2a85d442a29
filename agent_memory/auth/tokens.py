"""Bearer tokens: issue them (CLI) and check them (request path).

A token is 32 random bytes (``secrets.token_urlsafe``) behind a recognisable ``amt_``
prefix. Only its SHA-256 digest is stored. A fast digest is right here, unlike for
passwords: the secret has 256 bits of entropy, so there is nothing to brute-force, and the
request path stays one hash plus one ``HGETALL`` -- no scan, no bcrypt, no cache, so a
revoked token fails on the very next request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable

from agent_memory.errors import Unauthorized, ValidationFailed
from agent_memory.principal import Principal
from agent_memory.storage.auth_tokens import TokenRecord, TokenStore

TOKEN_PREFIX = "amt_"
_MAX_TOKEN_LENGTH = 512  # longer bearer values are rejected before hashing


def new_secret() -> str:
    """A fresh random token."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(secret: str) -> str:
    """The hex SHA-256 of a token: its storage key and public id."""
    return hashlib.sha256(secret.encode()).hexdigest()


def principal_for(record: TokenRecord) -> Principal:
    """The caller a token stands for: everything for admins, its bindings otherwise."""
    subject = f"token:{record.digest[:12]}"
    if record.admin:
        return Principal(subject=subject)
    return Principal(
        subject=subject,
        namespaces=frozenset(record.namespaces) if record.namespaces else None,
        user_id=record.user_id,
    )


async def issue_token(
    store: TokenStore,
    *,
    description: str,
    namespaces: Iterable[str] = (),
    user_id: str | None = None,
    admin: bool = False,
    expires_in_seconds: float | None = None,
    secret: str | None = None,
    now: float | None = None,
) -> tuple[str, TokenRecord]:
    """Create and store a token; returns ``(secret, record)``. The secret is shown once.

    A non-admin token must be bound to at least one namespace or a user: an unbound token
    would silently see every tenant. An admin token takes no bindings (it sees everything).

    Raises:
        ValidationFailed: Contradictory or empty bindings, a non-positive expiry, or a
            caller-supplied secret under 32 characters.
    """
    ns = tuple(sorted({n for n in namespaces}))
    if any(not n.strip() for n in ns) or (user_id is not None and not user_id.strip()):
        raise ValidationFailed("namespaces and user ids must not be empty")
    if admin and (ns or user_id is not None):
        raise ValidationFailed("an admin token sees every tenant: give no namespaces or user")
    if not admin and not ns and user_id is None:
        raise ValidationFailed("bind the token to --namespace and/or --user, or make it --admin")
    if expires_in_seconds is not None and expires_in_seconds <= 0:
        raise ValidationFailed("the expiry must be in the future")
    if secret is not None and len(secret) < 32:
        raise ValidationFailed("a supplied token must be at least 32 characters long")
    created = int(now if now is not None else time.time())
    expires = None if expires_in_seconds is None else int(created + expires_in_seconds)
    secret = secret or new_secret()
    record = TokenRecord(
        digest=token_digest(secret),
        description=description,
        created_at=created,
        expires_at=expires,
        namespaces=ns,
        user_id=user_id,
        admin=admin,
    )
    await store.put(record)
    return secret, record


class TokenAuthenticator:
    """``AUTH_MODE=token``: one digest lookup per request."""

    def __init__(self, store: TokenStore) -> None:
        self.store = store

    async def authenticate(self, bearer: str) -> Principal:
        """The principal for a bearer token.

        Raises:
            Unauthorized: Unknown, revoked, expired or malformed token.
            StorageError: Redis is unreachable (503: the caller may retry).
        """
        if not bearer or len(bearer) > _MAX_TOKEN_LENGTH or not bearer.isascii():
            raise Unauthorized("invalid token")
        digest = token_digest(bearer)
        record = await self.store.get(digest)
        # The key *is* the digest, so a hit already proves the secret; the constant-time
        # compare guards against a damaged record answering for another digest.
        if record is None or not hmac.compare_digest(record.digest, digest):
            raise Unauthorized("invalid token")
        if record.expired(time.time()):
            raise Unauthorized("token has expired")
        return principal_for(record)
