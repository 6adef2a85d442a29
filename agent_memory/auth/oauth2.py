"""``AUTH_MODE=oauth2``: JWT bearer tokens checked against the issuer's JWKS.

The JWKS is fetched asynchronously (httpx), cached for ``OAUTH2_JWKS_CACHE_SECONDS``, and
refetched when a token names an unknown ``kid`` -- at most once per
``OAUTH2_JWKS_MIN_REFRESH_SECONDS``, so a flood of forged ``kid``s cannot turn the server
into a JWKS hammer. Only ``OAUTH2_ALGORITHMS`` are accepted (``none`` never: Settings refuses
it), and the algorithm a key is bound to must match the token's (no RSA/HMAC confusion).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import httpx
import jwt
from jwt import PyJWK

from agent_memory.errors import Forbidden, ServiceUnavailable, Unauthorized
from agent_memory.principal import Principal
from agent_memory.settings import Settings

log = logging.getLogger(__name__)


class JwksCache:
    """The issuer's signing keys, by ``kid``.

    Args:
        url: Where the JWKS document lives.
        ttl: Seconds a fetched document is trusted.
        min_refresh: Least seconds between refetches triggered by an unknown ``kid``.
        timeout: Seconds per fetch.
    """

    def __init__(self, url: str, *, ttl: float, min_refresh: float, timeout: float = 5.0) -> None:
        self.url = url
        self.ttl = ttl
        self.min_refresh = min_refresh
        self.timeout = timeout
        self.fetches = 0
        self._keys: dict[str, dict[str, Any]] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()

    async def jwk(self, kid: str | None) -> dict[str, Any]:
        """The JWK for ``kid`` (or the only key, when the token names none).

        Raises:
            Unauthorized: The key is unknown even after a permitted refetch.
            ServiceUnavailable: The JWKS cannot be fetched and no cached copy is usable.
        """
        now = time.monotonic()
        if self._fetched_at is None or now - self._fetched_at > self.ttl:
            await self._refresh(stale_ok=self._fetched_at is not None)
        found = self._find(kid)
        if found is None and self._may_refetch():
            await self._refresh(stale_ok=False)
            found = self._find(kid)
        if found is None:
            raise Unauthorized("token signed by an unknown key")
        return found

    def _find(self, kid: str | None) -> dict[str, Any] | None:
        if kid is None:
            return next(iter(self._keys.values())) if len(self._keys) == 1 else None
        return self._keys.get(kid)

    def _may_refetch(self) -> bool:
        return self._fetched_at is None or time.monotonic() - self._fetched_at >= self.min_refresh

    async def _refresh(self, *, stale_ok: bool) -> None:
        started = time.monotonic()
        async with self._lock:
            if self._fetched_at is not None and self._fetched_at >= started:
                return  # another request refreshed while this one waited for the lock
            try:
                async with httpx.AsyncClient(timeout=self.timeout) as http:
                    response = await http.get(self.url)
                response.raise_for_status()
                keys = _signing_keys(response.json())
            except (httpx.HTTPError, ValueError) as exc:
                if stale_ok:
                    log.warning("JWKS refresh from %s failed (%s); keeping cached keys", self.url, exc)
                    return
                raise ServiceUnavailable("the token issuer's keys cannot be fetched") from exc
            finally:
                self.fetches += 1
            self._keys = keys
            self._fetched_at = time.monotonic()


def _signing_keys(document: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWKS document")
    keys: dict[str, dict[str, Any]] = {}
    for i, key in enumerate(document["keys"]):
        if not isinstance(key, dict) or key.get("use", "sig") != "sig":
            continue
        keys[str(key.get("kid", f"#{i}"))] = key
    return keys


class OAuth2Authenticator:
    """Turns a verified JWT into a :class:`Principal` using the configured claims."""

    def __init__(self, settings: Settings, jwks: JwksCache | None = None) -> None:
        issuer = (settings.oauth2_issuer_url or "").rstrip("/")
        self.settings = settings
        self.issuer = settings.oauth2_issuer_url
        self.audience = settings.oauth2_audience
        self.algorithms = list(settings.oauth2_algorithms)
        self.jwks = jwks or JwksCache(
            settings.oauth2_jwks_url or f"{issuer}/.well-known/jwks.json",
            ttl=settings.oauth2_jwks_cache_seconds,
            min_refresh=settings.oauth2_jwks_min_refresh_seconds,
        )
        self._parsed: dict[str, PyJWK] = {}

    async def authenticate(self, bearer: str) -> Principal:
        """Verify signature, algorithm, issuer, audience, exp/nbf/iat (with leeway), then map
        the claims to bounds.

        Raises:
            Unauthorized: Any check fails.
            Forbidden: The token is valid but grants no tenant at all.
            ServiceUnavailable: The JWKS cannot be fetched.
        """
        try:
            header = jwt.get_unverified_header(bearer)
        except jwt.PyJWTError as exc:
            raise Unauthorized("malformed token") from exc
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self.algorithms:
            raise Unauthorized(f"token algorithm {alg!r} is not accepted")
        kid = header.get("kid")
        key = self._key(await self.jwks.jwk(kid if isinstance(kid, str) else None), alg)
        try:
            claims = jwt.decode(
                bearer, key, algorithms=self.algorithms, audience=self.audience,
                issuer=self.issuer, leeway=self.settings.oauth2_leeway_seconds,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"invalid token: {exc}") from exc
        iat = claims.get("iat")
        if not isinstance(iat, int | float) or iat > time.time() + self.settings.oauth2_leeway_seconds:
            raise Unauthorized("invalid token: issued in the future")
        return self.principal(claims)

    def _key(self, jwk: dict[str, Any], alg: str) -> PyJWK:
        # A JWK without "alg" is bound to the token's (already allow-listed) algorithm;
        # PyJWK refuses a key of the wrong type for it, e.g. an RSA key for HS256.
        cache_key = json.dumps([jwk, alg], sort_keys=True)
        parsed = self._parsed.get(cache_key)
        if parsed is None:
            try:
                parsed = PyJWK(jwk, algorithm=jwk.get("alg") or alg)
            except jwt.PyJWTError as exc:
                raise Unauthorized("token key does not fit its algorithm") from exc
            if parsed.algorithm_name != alg:  # also enforced by PyJWT >= 2.12; kept for older
                raise Unauthorized("token algorithm does not match its key")
            if len(self._parsed) > 256:
                self._parsed.clear()
            self._parsed[cache_key] = parsed
        return parsed

    def principal(self, claims: dict[str, Any]) -> Principal:
        """Bounds from verified claims: admin scope/role, else namespaces and/or user."""
        subject = f"jwt:{claims['sub']}"
        if self.settings.oauth2_admin_scope in _granted(claims):
            return Principal(subject=subject)
        namespaces = _string_set(claims.get(self.settings.oauth2_namespace_claim))
        user = claims.get(self.settings.oauth2_user_claim)
        if user is not None and not (isinstance(user, str) and user):
            raise Forbidden(f"claim {self.settings.oauth2_user_claim!r} is not a user id")
        user_id = user
        if namespaces is None and user_id is None:
            # Fail closed: a token without bounds and without the admin scope gets nothing.
            raise Forbidden("this token carries no namespace or user claim and no admin scope")
        return Principal(subject=subject, namespaces=namespaces, user_id=user_id)


def _granted(claims: dict[str, Any]) -> set[str]:
    out: set[str] = set()
    for name in ("scope", "scp", "roles"):
        value = claims.get(name)
        if isinstance(value, str):
            out.update(value.split())
        elif isinstance(value, list):
            out.update(v for v in value if isinstance(v, str))
    return out


def _string_set(value: Any) -> frozenset[str] | None:
    # A present but malformed claim is refused, never read as "no bound" (that would widen).
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise Forbidden("the namespace claim must be a non-empty list of namespace names")
    return frozenset(value)
