"""AUTH_MODE=token: bearer tokens looked up by digest, expiry, revocation, bounds."""

from __future__ import annotations


import httpx
import pytest
from redis.asyncio import Redis

from agent_memory.auth import TokenAuthenticator, issue_token, token_digest
from agent_memory.errors import Unauthorized, ValidationFailed
from agent_memory.storage.auth_tokens import TokenStore
from agent_memory.storage.keys import auth_token_key
from tests.auth.conftest import IssueToken, bearer
from tests.support.wait import wait_until

LIST = "/v1/working-memory/"


async def test_health_is_public(token_client: httpx.AsyncClient) -> None:
    """Health and readiness answer without credentials."""
    assert (await token_client.get("/v1/health")).status_code == 200
    assert (await token_client.get("/v1/health/ready")).status_code == 200


async def test_missing_token_is_401_with_challenge(token_client: httpx.AsyncClient) -> None:
    """No Authorization header: 401, our error shape, and a Bearer challenge."""
    response = await token_client.get(LIST)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert body["error"]["code"] == "unauthorized"
    assert body["detail"] == "missing authorization header"


async def test_unknown_paths_need_credentials(token_client: httpx.AsyncClient) -> None:
    """Only declared public paths are open: unrouted look-alikes answer 401 before routing."""
    for path in ("/v1/anything", "/v1/healthz", "/v1/health/../working-memory/"):
        assert (await token_client.get(path)).status_code == 401, path


async def test_docs_are_public(token_client: httpx.AsyncClient) -> None:
    """The API description is reachable without a token (whatever serves it)."""
    for path in ("/docs", "/openapi.json"):
        assert (await token_client.get(path)).status_code != 401, path


@pytest.mark.parametrize("header", [
    "Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "bearer a b", "Token abc", "amt_x",
    "Bearer " + "a" * 600,
])
async def test_malformed_authorization_is_401(token_client: httpx.AsyncClient, issue: IssueToken,
                                             header: str) -> None:
    """Other schemes, empty or oversized credentials are refused."""
    await issue(admin=True)
    response = await token_client.get(LIST, headers={"Authorization": header})
    assert response.status_code == 401
    assert "www-authenticate" in response.headers


async def test_non_ascii_header_is_401(token_client: httpx.AsyncClient) -> None:
    """Undecodable header bytes are a 401, never a 500."""
    response = await token_client.get(LIST, headers=[(b"authorization", b"Bearer \xff\xfe")])
    assert response.status_code == 401


async def test_unknown_and_forged_tokens_are_401(token_client: httpx.AsyncClient,
                                                 issue: IssueToken) -> None:
    """A token that was never issued, or an issued one with a changed character, fails."""
    secret = await issue(admin=True)
    assert (await token_client.get(LIST, headers=bearer(secret))).status_code == 200
    forged = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    for candidate in ("amt_" + "x" * 43, forged, token_digest(secret)):
        response = await token_client.get(LIST, headers=bearer(candidate))
        assert response.status_code == 401
        assert response.json()["detail"] == "invalid token"


async def test_revoked_token_fails_on_the_next_request(token_client: httpx.AsyncClient,
                                                       issue: IssueToken, store: TokenStore) -> None:
    """No cache: removing the record locks the token out immediately."""
    secret = await issue(namespaces=["ns"])
    assert (await token_client.get(LIST, headers=bearer(secret))).status_code == 200
    assert await store.remove(token_digest(secret))
    assert (await token_client.get(LIST, headers=bearer(secret))).status_code == 401


async def test_token_expires(token_client: httpx.AsyncClient, store: TokenStore) -> None:
    """A token issued for one second works, then answers 401."""
    secret, _ = await issue_token(store, description="short", namespaces=["ns"],
                                  expires_in_seconds=1)
    assert (await token_client.get(LIST, headers=bearer(secret))).status_code == 200

    async def locked_out() -> bool:
        return (await token_client.get(LIST, headers=bearer(secret))).status_code == 401

    await wait_until(locked_out, timeout=5)


async def test_expiry_is_checked_even_if_the_key_outlives_it(store: TokenStore, redis: Redis) -> None:
    """If Redis kept the hash past its expiry (clock skew, restored backup), it still fails."""
    secret, record = await issue_token(store, description="old", namespaces=["ns"],
                                       expires_in_seconds=1)
    await redis.persist(auth_token_key(record.digest))  # the TTL is gone; the record stays
    authenticator = TokenAuthenticator(store)
    assert (await authenticator.authenticate(secret)).namespaces == frozenset({"ns"})

    async def refused_as_expired() -> bool:
        try:
            await authenticator.authenticate(secret)
        except Unauthorized as exc:
            return exc.message == "token has expired"
        return False

    await wait_until(refused_as_expired, timeout=5)
    assert await redis.exists(auth_token_key(record.digest))


async def test_only_the_digest_is_stored(issue: IssueToken, redis: Redis) -> None:
    """No key or value in Redis contains the secret."""
    secret = await issue(user_id="u1", description="digest check")
    dump = []
    async for key in redis.scan_iter():
        dump.append(key)
        if await redis.type(key) == b"hash":
            dump.extend(v for kv in (await redis.hgetall(key)).items() for v in kv)
        elif await redis.type(key) == b"set":
            dump.extend(await redis.smembers(key))
    assert dump, "the token was stored somewhere"
    assert not any(secret.encode() in item for item in dump)
    assert any(token_digest(secret).encode() in item for item in dump)


async def test_request_path_never_scans(token_client: httpx.AsyncClient, issue: IssueToken,
                                        redis: Redis) -> None:
    """With many tokens stored, authenticating is HGETALLs only: no SCAN/KEYS/SMEMBERS."""
    for i in range(200):
        await issue(namespaces=[f"ns{i}"])
    secret = await issue(admin=True)
    await redis.config_resetstat()
    for _ in range(10):
        assert (await token_client.get("/v1/health/../health", headers=bearer(secret))).status_code
        assert (await token_client.get(LIST, headers=bearer(secret))).status_code == 200
    stats = await redis.info("commandstats")
    assert stats["cmdstat_hgetall"]["calls"] >= 10
    for command in ("scan", "keys", "smembers", "sscan"):
        assert f"cmdstat_{command}" not in stats, command


async def test_bound_token_gets_403_outside_and_its_own_scope_inside(
        token_client: httpx.AsyncClient, issue: IssueToken) -> None:
    """A namespace-bound token writes into its namespace by default; others are 403."""
    secret = await issue(namespaces=["mine"])
    body = {"messages": [{"role": "user", "content": "hi"}]}
    put = await token_client.put("/v1/working-memory/s1", json=body, headers=bearer(secret))
    assert put.status_code == 200
    assert put.json()["namespace"] == "mine"
    outside = await token_client.put("/v1/working-memory/s1", json={**body, "namespace": "other"},
                                     headers=bearer(secret))
    assert outside.status_code == 403
    assert outside.json()["error"]["code"] == "forbidden"
    listed = await token_client.get(LIST, params={"namespace": "other"}, headers=bearer(secret))
    assert listed.status_code == 403


@pytest.mark.parametrize("kwargs", [
    {},  # unbound and not admin: would see everything
    {"admin": True, "namespaces": ["a"]},
    {"namespaces": [""]},
    {"user_id": " "},
    {"namespaces": ["a"], "expires_in_seconds": 0},
    {"namespaces": ["a"], "secret": "short"},
])
async def test_issuing_refuses_unsafe_tokens(store: TokenStore, kwargs: dict[str, object]) -> None:
    """Tokens that would be unbounded by accident, or contradictory, are never created."""
    with pytest.raises(ValidationFailed):
        await issue_token(store, description="bad", **kwargs)  # type: ignore[arg-type]
    assert await store.all() == []
