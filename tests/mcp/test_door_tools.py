"""The tools for the doors beyond AMS (recall, profile read, post-turn processing), each
driven with the SDK's client against the API port (MCP_ON_API), next to its REST route."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from redis.asyncio import Redis

from agent_memory.app import create_app
from agent_memory.auth import issue_token
from agent_memory.storage.auth_tokens import TokenStore
from tests.conftest import make_settings
from tests.mcp.conftest import error, http_client, result
from tests.support.live_server import serving


@pytest.fixture
def api_url(redis_url: str, redis: Redis) -> Iterator[str]:
    """The API in token mode with MCP on its port."""
    with serving(create_app(make_settings(redis_url, auth_mode="token", mcp_on_api=True))) as url:
        yield url


async def _token(redis: Redis, **bounds: object) -> str:
    secret, _ = await issue_token(TokenStore(redis), description="t", **bounds)
    return secret


async def test_recall_tool_ranks_like_the_rest_route(api_url: str, redis: Redis) -> None:
    """recall_memories answers what POST /v1/memories/recall answers, within the token's
    bounds."""
    token = await _token(redis, namespaces=["ns-a"])
    async with http_client(f"{api_url}/mcp", token) as client:
        result(await client.call_tool("create_long_term_memories", {"memories": [
            {"id": f"m{i}", "text": f"Note {i}: the user likes hiking in the Alps"}
            for i in range(3)]}))
        body = {"query": "hiking in the Alps", "k": 2}
        via_mcp = result(await client.call_tool("recall_memories", body))
        bad = error(await client.call_tool("recall_memories", {"query": "x",
                                                                "namespace": "ns-b"}))
        assert bad["status"] == 403
    async with httpx.AsyncClient(base_url=api_url,
                                 headers={"Authorization": f"Bearer {token}"}) as rest:
        via_rest = (await rest.post("/v1/memories/recall", json=body)).json()
    assert [m["id"] for m in via_mcp["results"]] == [m["id"] for m in via_rest["results"]]
    assert len(via_mcp["results"]) == 2


async def test_profile_read_tool_and_policy_denied(api_url: str, redis: Redis) -> None:
    """read_profile_memory reads for an allowed purpose; a purpose the policy refuses is a
    policy_denied tool error (403, with the allowed classes)."""
    token = await _token(redis, namespaces=["ns-a"])
    async with httpx.AsyncClient(base_url=api_url,
                                 headers={"Authorization": f"Bearer {token}"}) as rest:
        created = await rest.post("/memory", json={
            "user_id": "u1", "scope": "preferences", "domain": "food",
            "source": "explicit_user_input", "value_json": {"likes": ["pizza"],
                                                            "dislikes": ["broccoli"]}})
        assert created.status_code in (200, 201), created.text
    async with http_client(f"{api_url}/mcp", token) as client:
        read = result(await client.call_tool("read_profile_memory", {
            "user_id": "u1", "scope": "preferences", "domain": "food",
            "purpose": "generate food recommendations"}))
        assert read["summary_struct"]["likes"] == ["pizza"] and read["revocation_token"]
        denied = error(await client.call_tool("read_profile_memory", {
            "user_id": "u1", "scope": "preferences",
            "purpose": "target advertising campaigns"}))
        assert denied["status"] == 403 and denied["error"]["code"] == "policy_denied"
        assert "allowed_purpose_classes" in denied["error"]["details"]


async def test_process_turn_tool_is_the_rest_pipeline(api_url: str, redis: Redis) -> None:
    """process_turn accepts a turn and names its job; the same turn again (through MCP or
    REST) answers the same job."""
    token = await _token(redis, namespaces=["ns-a"])
    turn = {"user_message": "I moved to Lisbon last month",
            "assistant_response": "Nice, how do you like it?",
            "user_message_id": "u-1", "assistant_message_id": "a-1"}
    async with http_client(f"{api_url}/mcp", token) as client:
        first = result(await client.call_tool("process_turn", {"user_id": "u1", "turn": turn}))
        again = result(await client.call_tool("process_turn", {"user_id": "u1", "turn": turn}))
        assert first["status"] == "accepted" and again["job_id"] == first["job_id"]
        bad = error(await client.call_tool("process_turn", {"user_id": "u1", "turn": {
            "user_message": " ", "assistant_response": "x"}}))
        assert bad["status"] == 422
    async with httpx.AsyncClient(base_url=api_url,
                                 headers={"Authorization": f"Bearer {token}"}) as rest:
        via_rest = await rest.post("/v1/process", json={"user_id": "u1", "turn": turn})
        assert via_rest.status_code == 202 and via_rest.json()["job_id"] == first["job_id"]
