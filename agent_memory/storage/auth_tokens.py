"""Bearer-token records in Redis, addressed by the SHA-256 digest of the secret.

One hash per token (``am:auth:token:<digest>``) makes the request-path lookup a single
``HGETALL`` whatever the number of tokens; a set (``am:auth:tokens``) lists them for the CLI.
The secret itself is never stored. A token with an expiry also gets a Redis TTL, so an
expired token disappears on its own; the listing set is pruned of vanished digests on read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from agent_memory.errors import StorageError
from agent_memory.storage.keys import AUTH_TOKEN_SET, auth_token_key


@dataclass(frozen=True)
class TokenRecord:
    """What is known about one token (never the secret).

    Attributes:
        digest: Hex SHA-256 of the secret; also the token's id for the CLI.
        description: Free text given at creation.
        created_at: Epoch seconds.
        expires_at: Epoch seconds, or ``None`` for no expiry.
        namespaces: Namespaces the token is bound to (empty: not bound by namespace).
        user_id: The user the token is bound to, if any.
        admin: Unbounded access to every tenant.
    """

    digest: str
    description: str
    created_at: int
    expires_at: int | None
    namespaces: tuple[str, ...]
    user_id: str | None
    admin: bool

    def expired(self, now: float) -> bool:
        """True once the expiry has passed."""
        return self.expires_at is not None and now >= self.expires_at

    def to_json(self) -> dict[str, object]:
        """A JSON-ready view for the CLI."""
        return {
            "id": self.digest,
            "description": self.description,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "namespaces": list(self.namespaces),
            "user_id": self.user_id,
            "admin": self.admin,
        }


def _encode(record: TokenRecord) -> dict[str, str]:
    return {
        "description": record.description,
        "created_at": str(record.created_at),
        "expires_at": "" if record.expires_at is None else str(record.expires_at),
        "namespaces": json.dumps(list(record.namespaces)),
        "user_id": json.dumps(record.user_id),
        "admin": "1" if record.admin else "0",
    }


def _decode(digest: str, raw: Mapping[bytes, bytes]) -> TokenRecord | None:
    fields = {k.decode(): v.decode() for k, v in raw.items()}
    try:
        return TokenRecord(
            digest=digest,
            description=fields["description"],
            created_at=int(fields["created_at"]),
            expires_at=int(fields["expires_at"]) if fields["expires_at"] else None,
            namespaces=tuple(json.loads(fields["namespaces"])),
            user_id=json.loads(fields["user_id"]),
            admin=fields["admin"] == "1",
        )
    except (KeyError, ValueError):
        # A damaged or foreign hash must never authenticate anyone.
        return None


class TokenStore:
    """Token records keyed by digest. Every method is O(1) except :meth:`all`."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def get(self, digest: str) -> TokenRecord | None:
        """The record for a digest, or ``None`` (unknown, revoked or expired by TTL)."""
        try:
            raw = await self.redis.hgetall(auth_token_key(digest))  # type: ignore[misc]
        except RedisError as exc:
            raise StorageError("token store unavailable") from exc
        return _decode(digest, raw) if raw else None

    async def put(self, record: TokenRecord) -> None:
        """Store a new record (with a TTL ending at its expiry) and list it."""
        key = auth_token_key(record.digest)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            pipe.hset(key, mapping=_encode(record))
            if record.expires_at is not None:
                pipe.expireat(key, record.expires_at)
            pipe.sadd(AUTH_TOKEN_SET, record.digest)
            await pipe.execute()

    async def remove(self, digest: str) -> bool:
        """Revoke a token; True if it existed. Effective on the next request (no cache)."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(auth_token_key(digest))
            pipe.srem(AUTH_TOKEN_SET, digest)
            deleted, _ = await pipe.execute()
        return bool(deleted)

    async def all(self) -> list[TokenRecord]:
        """Every live record, oldest first; digests whose hash expired are unlisted."""
        digests = sorted(d.decode() for d in await self.redis.smembers(AUTH_TOKEN_SET))  # type: ignore[misc]
        async with self.redis.pipeline(transaction=False) as pipe:
            for digest in digests:
                pipe.hgetall(auth_token_key(digest))
            raws = await pipe.execute()
        records, gone = [], []
        for digest, raw in zip(digests, raws, strict=True):
            record = _decode(digest, raw) if raw else None
            if record is None:
                gone.append(digest)
            else:
                records.append(record)
        if gone:
            await self.redis.srem(AUTH_TOKEN_SET, *gone)  # type: ignore[misc]
        return sorted(records, key=lambda r: (r.created_at, r.digest))

    async def resolve(self, id_or_prefix: str) -> TokenRecord:
        """The one live record whose digest starts with ``id_or_prefix`` (at least 8 hex chars).

        Raises:
            LookupError: No match, several matches, or a prefix too short to be safe.
        """
        prefix = id_or_prefix.strip().lower()
        if len(prefix) < 8:
            raise LookupError("give at least 8 characters of the token id")
        matches = [r for r in await self.all() if r.digest.startswith(prefix)]
        if not matches:
            raise LookupError(f"no token with id {prefix!r}")
        if len(matches) > 1:
            raise LookupError(f"{len(matches)} tokens start with {prefix!r}; give more characters")
        return matches[0]
