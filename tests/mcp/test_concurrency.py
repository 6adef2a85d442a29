"""Concurrent calls from two namespaces on one MCP HTTP server never mix: each call's
namespace comes from its own request (AMS read it from state shared by every call)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from redis.asyncio import Redis

from agent_memory.auth import issue_token
from agent_memory.mcp.http import create_mcp_app
from agent_memory.storage.auth_tokens import TokenStore
from tests.conftest import make_settings
from tests.mcp.conftest import http_client, result
from tests.support.live_server import serving

ROUNDS = 15


@pytest.fixture
def mcp_url(redis_url: str, redis: Redis) -> Iterator[str]:
    with serving(create_mcp_app(make_settings(redis_url, auth_mode="token"))) as url:
        yield url


async def _tenant(url: str, token: str, namespace: str) -> None:
    """Write and read back through one client, interleaved with the other tenant's calls;
    every write lands in ``namespace`` and every read sees only ``namespace``."""
    async with http_client(url, token) as client:
        for i in range(ROUNDS):
            created = result(await client.call_tool("create_long_term_memories", {"memories": [
                {"id": f"{namespace}-{i}", "text": f"shared words about lamps number {i}"}]}))
            got = result(await client.call_tool("get_long_term_memory",
                                                {"memory_id": created["ids"][0]}))
            assert got["namespace"] == namespace
            session = result(await client.call_tool("append_messages", {
                "session_id": "same-session-id",
                "messages": [{"role": "user", "content": f"lamp {i}"}]}))
            assert session["namespace"] == namespace
            found = result(await client.call_tool("search_long_term_memory", {
                "text": "shared words about lamps", "limit": 100}))
            assert found["memories"] and {m["namespace"] for m in found["memories"]} == {namespace}
            prompt = result(await client.call_tool("memory_prompt", {
                "query": "lamps?", "session_id": {"eq": "same-session-id"}}))
            assert all(m["namespace"] == namespace for m in prompt["long_term_memories"] or [])


async def test_two_namespaces_at_once_never_mix(mcp_url: str, redis: Redis) -> None:
    """Two tenants bound to different namespaces, and an admin through two path namespaces,
    call the same server at the same time; no call sees or writes the other's namespace."""
    store = TokenStore(redis)
    a, _ = await issue_token(store, description="a", namespaces=["ns-a"])
    b, _ = await issue_token(store, description="b", namespaces=["ns-b"])
    admin, _ = await issue_token(store, description="admin", admin=True)
    await asyncio.gather(
        _tenant(f"{mcp_url}/mcp", a, "ns-a"),
        _tenant(f"{mcp_url}/mcp", b, "ns-b"),
        _tenant(f"{mcp_url}/ns-c/mcp", admin, "ns-c"),
        _tenant(f"{mcp_url}/ns-d/mcp", admin, "ns-d"),
    )
    for namespace in ("ns-a", "ns-b", "ns-c", "ns-d"):
        keys = [k async for k in redis.scan_iter(match=f"*{namespace}-*")]
        assert len(keys) >= ROUNDS
