"""AUTH_MODE=oauth2: JWTs verified against a JWKS served on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from agent_memory.settings import Settings
from tests.auth._jwks import (
    AUDIENCE,
    ISSUER,
    JwksServer,
    SigningKey,
    claims,
    hmac_signed,
    unsigned,
)
from tests.auth.conftest import bearer, serve
from tests.conftest import make_settings

LIST = "/v1/working-memory/"


@pytest.fixture(scope="session")
def key1() -> SigningKey:
    return SigningKey.generate("key-1")


@pytest.fixture(scope="session")
def key2() -> SigningKey:
    return SigningKey.generate("key-2")


@pytest.fixture
def jwks(key1: SigningKey) -> Iterator[JwksServer]:
    with JwksServer(keys=[key1]) as server:
        yield server


def oauth_settings(redis_url: str, jwks: JwksServer, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "auth_mode": "oauth2", "oauth2_issuer_url": ISSUER, "oauth2_audience": AUDIENCE,
        "oauth2_jwks_url": jwks.url, "oauth2_leeway_seconds": 30,
        "oauth2_algorithms": ["RS256", "HS256"],  # HS256 allowed on purpose: no key confusion
    }
    values.update(overrides)
    return make_settings(redis_url, **values)


@pytest.fixture
async def client(redis_url: str, redis: Redis, jwks: JwksServer) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(oauth_settings(redis_url, jwks)) as http:
        yield http


async def test_valid_token_is_accepted_and_bound(client: httpx.AsyncClient,
                                                 key1: SigningKey) -> None:
    """A good JWT works; its namespace claim fills and bounds the namespace."""
    token = key1.sign(claims(namespaces=["ns-a"]))
    put = await client.put("/v1/working-memory/s", json={"messages": []}, headers=bearer(token))
    assert put.status_code == 200
    assert put.json()["namespace"] == "ns-a"
    other = await client.get(LIST, params={"namespace": "ns-b"}, headers=bearer(token))
    assert other.status_code == 403


async def test_user_claim_binds_the_user(client: httpx.AsyncClient, key1: SigningKey) -> None:
    """A user claim is filled into writes and enforced on reads."""
    token = key1.sign(claims(namespaces=None, user_id="alice"))
    put = await client.put("/v1/working-memory/s", json={"messages": []}, headers=bearer(token))
    assert put.json()["user_id"] == "alice"
    assert (await client.get(LIST, params={"user_id": "bob"}, headers=bearer(token))).status_code == 403


async def test_admin_scope_is_unbounded(client: httpx.AsyncClient, key1: SigningKey) -> None:
    """The admin scope reaches any namespace."""
    token = key1.sign(claims(namespaces=None, scope="openid memory:admin"))
    response = await client.get(LIST, params={"namespace": "anything"}, headers=bearer(token))
    assert response.status_code == 200


@pytest.mark.parametrize("bad", [
    {"namespaces": None},  # no bounds and no admin scope
    {"namespaces": []},
    {"namespaces": [""]},
    {"namespaces": {"eq": "*"}},
    {"namespaces": None, "user_id": ""},
])
async def test_tokens_without_usable_bounds_are_403(client: httpx.AsyncClient, key1: SigningKey,
                                                     bad: dict[str, Any]) -> None:
    """Missing or malformed bound claims never mean "everything"."""
    response = await client.get(LIST, headers=bearer(key1.sign(claims(**bad))))
    assert response.status_code == 403


@pytest.mark.parametrize("name,overrides", [
    ("wrong audience", {"aud": "someone-else"}),
    ("wrong issuer", {"iss": "https://evil.test"}),
    ("expired beyond leeway", {"exp": -120}),
    ("not yet valid", {"nbf": 120}),
    ("issued in the future", {"iat": 120}),
    ("no exp", {"exp": None}),
    ("no sub", {"sub": None}),
    ("no iat", {"iat": None}),
])
async def test_claim_checks_reject(client: httpx.AsyncClient, key1: SigningKey, name: str,
                                   overrides: dict[str, Any]) -> None:
    """Audience, issuer, exp/nbf/iat (30 s leeway here) and required claims are enforced."""
    base = claims()
    for claim in ("exp", "nbf", "iat"):  # relative offsets
        if isinstance(overrides.get(claim), int):
            overrides = {**overrides, claim: base["iat"] + overrides[claim]}
    response = await client.get(LIST, headers=bearer(key1.sign(claims(**overrides))))
    assert response.status_code == 401, name
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_leeway_tolerates_small_skew(client: httpx.AsyncClient, key1: SigningKey) -> None:
    """A token expired 10 s ago is still inside the 30 s leeway."""
    base = claims()
    token = key1.sign(claims(exp=base["iat"] - 10, iat=base["iat"] - 100))
    assert (await client.get(LIST, headers=bearer(token))).status_code == 200


async def test_forged_tokens_are_401(client: httpx.AsyncClient, key1: SigningKey,
                                     key2: SigningKey) -> None:
    """Wrong signature, alg none, HS256 keyed with the public key, garbage: all 401."""
    payload = claims()
    forged = [
        key2.sign(payload, kid=key1.kid),  # signed by another key, claiming key-1
        unsigned(payload, key1.kid),
        hmac_signed(payload, key1.public_pem(), key1.kid),
        hmac_signed(payload, key1.jwk()["n"].encode(), key1.kid),
        "not.a.jwt",
        "abc",
    ]
    good = key1.sign(payload)
    head, body, sig = good.split(".")
    forged.append(f"{head}.{body}.{sig[:-4]}AAAA")  # tampered signature
    for token in forged:
        response = await client.get(LIST, headers=bearer(token))
        assert response.status_code == 401, token


async def test_unknown_kid_refetches_jwks(redis_url: str, redis: Redis, jwks: JwksServer,
                                          key1: SigningKey, key2: SigningKey) -> None:
    """After a key rotation, a token with the new kid triggers one JWKS refetch and works."""
    settings = oauth_settings(redis_url, jwks, oauth2_jwks_min_refresh_seconds=0)
    async with serve(settings) as http:
        assert (await http.get(LIST, headers=bearer(key1.sign(claims())))).status_code == 200
        assert jwks.hits == 1
        assert (await http.get(LIST, headers=bearer(key1.sign(claims())))).status_code == 200
        assert jwks.hits == 1  # cached
        jwks.keys = [key1, key2]
        assert (await http.get(LIST, headers=bearer(key2.sign(claims())))).status_code == 200
        assert jwks.hits == 2


async def test_unknown_kid_refetch_is_rate_limited(client: httpx.AsyncClient, jwks: JwksServer,
                                                   key1: SigningKey, key2: SigningKey) -> None:
    """A burst of tokens with unknown kids costs no extra JWKS fetches inside the interval."""
    assert (await client.get(LIST, headers=bearer(key1.sign(claims())))).status_code == 200
    for i in range(5):
        token = key2.sign(claims(), kid=f"unknown-{i}")
        assert (await client.get(LIST, headers=bearer(token))).status_code == 401
    assert jwks.hits == 1


async def test_unreachable_jwks_is_503(client: httpx.AsyncClient, jwks: JwksServer,
                                       key1: SigningKey) -> None:
    """When the issuer's keys cannot be fetched the answer is 503 (retry), not 401 or 500."""
    jwks.fail_status = 500
    response = await client.get(LIST, headers=bearer(key1.sign(claims())))
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "service_unavailable"


async def test_health_stays_public(client: httpx.AsyncClient) -> None:
    """Health answers without a token in oauth2 mode too."""
    assert (await client.get("/v1/health")).status_code == 200
    assert (await client.get(LIST)).status_code == 401
