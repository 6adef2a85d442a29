"""MCP over HTTP (streamable HTTP and SSE), driven by the SDK's own client against a live
server: the same auth as REST, path namespaces, sessions bound to their caller."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import httpx2
import pytest
from mcp.client import Client
from mcp.client.sse import sse_client
from redis.asyncio import Redis

from agent_memory.app import create_app
from agent_memory.auth import issue_token
from agent_memory.mcp.http import create_mcp_app
from agent_memory.settings import Settings
from agent_memory.storage.auth_tokens import TokenStore
from tests.conftest import make_settings
from tests.mcp.conftest import error, http_client, result
from tests.mcp.round_trip import bad_arguments, check_tool_list, round_trip
from tests.support.live_server import serving

INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {},
    "clientInfo": {"name": "raw", "version": "0"}}}
ACCEPT = {"Accept": "application/json, text/event-stream"}


@pytest.fixture
def token_settings(redis_url: str, redis: Redis) -> Settings:
    return make_settings(redis_url, auth_mode="token")


@pytest.fixture
def mcp_url(redis_url: str, redis: Redis) -> Iterator[str]:
    """A standalone MCP server (auth disabled), as ``agent-memory mcp`` serves it."""
    with serving(create_mcp_app(make_settings(redis_url))) as url:
        yield url


@pytest.fixture
def token_url(token_settings: Settings) -> Iterator[str]:
    """A standalone MCP server with AUTH_MODE=token."""
    with serving(create_mcp_app(token_settings)) as url:
        yield url


async def test_tools_round_trip_over_streamable_http(mcp_url: str) -> None:
    """The same tool list, round trip and argument errors as over stdio."""
    async with http_client(f"{mcp_url}/mcp") as client:
        await check_tool_list(client)
        await round_trip(client)
        await bad_arguments(client)


async def test_unauthenticated_requests_get_the_rest_401(token_url: str) -> None:
    """No token or a wrong one: 401 with the REST error body and WWW-Authenticate."""
    async with httpx.AsyncClient() as http:
        for headers in ({}, {"Authorization": "Bearer amt_wrong"}):
            response = await http.post(f"{token_url}/mcp", json=INIT,
                                       headers={**ACCEPT, **headers})
            assert response.status_code == 401
            assert response.json()["error"]["code"] == "unauthorized"
            assert response.headers["www-authenticate"].startswith("Bearer")


async def test_path_namespace_must_be_within_the_token(token_url: str, redis: Redis) -> None:
    """A namespace-bound token reaches only its own ``/{namespace}/mcp``; an admin token at
    ``/{namespace}/mcp`` is narrowed to that namespace."""
    store = TokenStore(redis)
    bound, _ = await issue_token(store, description="a", namespaces=["ns-a"])
    admin, _ = await issue_token(store, description="admin", admin=True)
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{token_url}/ns-b/mcp", json=INIT,
                                   headers={**ACCEPT, "Authorization": f"Bearer {bound}"})
        assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"
    async with http_client(f"{token_url}/ns-a/mcp", bound) as client:
        created = result(await client.call_tool("create_long_term_memories", {
            "memories": [{"id": "m-a", "text": "Blue folder holds the lease"}]}))
        assert created["ids"] == ["m-a"]
    async with http_client(f"{token_url}/ns-x/mcp", admin) as client:
        result(await client.call_tool("create_long_term_memories", {
            "memories": [{"id": "m-x", "text": "Red folder holds the deeds"}]}))
        assert result(await client.call_tool("get_long_term_memory",
                                             {"memory_id": "m-x"}))["namespace"] == "ns-x"
        hidden = error(await client.call_tool("get_long_term_memory", {"memory_id": "m-a"}))
        assert hidden["status"] == 404  # ns-a is outside the path's namespace
        outside = error(await client.call_tool("search_long_term_memory", {
            "text": "folder", "namespace": {"eq": "ns-a"}}))
        assert outside["status"] == 403
        found = result(await client.call_tool("search_long_term_memory", {"text": "folder"}))
        assert [m["id"] for m in found["memories"]] == ["m-x"]


async def test_a_session_belongs_to_the_caller_that_opened_it(token_url: str,
                                                              redis: Redis) -> None:
    """Another token presenting an open session's id is refused, not served in it."""
    store = TokenStore(redis)
    a, _ = await issue_token(store, description="a", namespaces=["ns-a"])
    b, _ = await issue_token(store, description="b", namespaces=["ns-b"])
    async with httpx.AsyncClient() as http:
        opened = await http.post(f"{token_url}/mcp", json=INIT,
                                 headers={**ACCEPT, "Authorization": f"Bearer {a}"})
        assert opened.status_code == 200, opened.text
        session = opened.headers["mcp-session-id"]
        listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
        hijack = await http.post(f"{token_url}/mcp", json=listing, headers={
            **ACCEPT, "Authorization": f"Bearer {b}", "Mcp-Session-Id": session,
            "Mcp-Protocol-Version": "2025-06-18"})
        assert hijack.status_code in (403, 404), hijack.text
        assert "tools" not in hijack.text


async def test_sse_transport_with_path_namespace(redis_url: str, redis: Redis) -> None:
    """SSE serves the same tools at /sse and /{namespace}/sse, bounded the same way."""
    settings = make_settings(redis_url, auth_mode="token")
    secret, _ = await issue_token(TokenStore(redis), description="a", namespaces=["ns-a"])
    headers = {"Authorization": f"Bearer {secret}"}
    with serving(create_mcp_app(settings, "sse")) as url:
        async with Client(sse_client(f"{url}/ns-a/sse", headers=headers),
                          read_timeout_seconds=30) as client:
            created = result(await client.call_tool("create_long_term_memories", {
                "memories": [{"id": "m1", "text": "Bins go out on Tuesday"}]}))
            assert created["ids"] == ["m1"]
            assert result(await client.call_tool("get_long_term_memory",
                                                 {"memory_id": "m1"}))["namespace"] == "ns-a"
        async with Client(sse_client(f"{url}/sse", headers=headers),
                          read_timeout_seconds=30) as client:
            found = result(await client.call_tool("search_long_term_memory", {"text": "bins"}))
            assert found["total"] == 1
        async with httpx.AsyncClient() as http:
            response = await http.get(f"{url}/ns-b/sse", headers=headers)
            assert response.status_code == 403


async def test_mcp_on_the_api_port_answers_as_rest(redis_url: str, redis: Redis) -> None:
    """MCP_ON_API=true serves /mcp beside /v1 with the same auth; a search through the tool
    returns what the REST route returns on the same data."""
    settings = make_settings(redis_url, auth_mode="token", mcp_on_api=True)
    secret, _ = await issue_token(TokenStore(redis), description="a", namespaces=["ns-a"])
    headers = {"Authorization": f"Bearer {secret}"}
    with serving(create_app(settings)) as url:
        async with httpx.AsyncClient(base_url=url, headers=headers) as rest:
            created = await rest.post("/v1/long-term-memory/", json={"memories": [
                {"id": f"m{i}", "text": f"Note {i} about the garden shed"} for i in range(5)]})
            assert created.status_code == 200, created.text
            body = {"text": "garden shed", "limit": 3}
            via_rest = (await rest.post("/v1/long-term-memory/search", json=body)).json()
        async with http_client(f"{url}/mcp", secret) as client:
            via_mcp = result(await client.call_tool("search_long_term_memory", body))
        assert via_mcp["total"] == via_rest["total"] == 5
        assert [m["id"] for m in via_mcp["memories"]] == [m["id"] for m in via_rest["memories"]]
        # Scores carry a recency term: the two searches ran a few milliseconds apart.
        assert [m["score"] for m in via_mcp["memories"]] == \
            pytest.approx([m["score"] for m in via_rest["memories"]], rel=1e-4)
        async with httpx2.AsyncClient() as http:
            response = await http.post(f"{url}/mcp", json=INIT, headers=ACCEPT)
            assert response.status_code == 401
