"""``agent-memory mcp`` over stdio, driven by the SDK's own client as a subprocess."""

from __future__ import annotations

import asyncio
import os

from redis.asyncio import Redis

from agent_memory.auth import issue_token
from agent_memory.storage.auth_tokens import TokenStore
from tests.mcp.conftest import error, result, stdio_client, stdio_params
from tests.mcp.round_trip import bad_arguments, check_tool_list, round_trip


async def test_tools_round_trip_over_stdio(redis_url: str, redis: Redis) -> None:
    """The tool list and schemas, one call of every tool, and bad arguments as tool errors
    that leave the session serving."""
    async with stdio_client(redis_url) as client:
        await check_tool_list(client)
        await round_trip(client)
        await bad_arguments(client)


async def test_stdio_acts_as_the_configured_token(redis_url: str, redis: Redis) -> None:
    """With AUTH_MODE=token the session is MCP_TOKEN's principal: its namespace is filled
    in, another namespace is refused, and revoking the token stops the session."""
    store = TokenStore(redis)
    secret, record = await issue_token(store, description="desk", namespaces=["home"])
    async with stdio_client(redis_url, AUTH_MODE="token", MCP_TOKEN=secret) as client:
        created = result(await client.call_tool("create_long_term_memories", {"memories": [
            {"id": "m1", "text": "The spare key is under the blue pot"}]}))
        assert created["ids"] == ["m1"]
        got = result(await client.call_tool("get_long_term_memory", {"memory_id": "m1"}))
        assert got["namespace"] == "home"
        refused = error(await client.call_tool("search_long_term_memory", {
            "text": "key", "namespace": {"eq": "office"}}))
        assert refused["status"] == 403
        await store.remove(record.digest)  # revoked: the very next call is refused
        revoked = error(await client.call_tool("get_long_term_memory", {"memory_id": "m1"}))
        assert revoked["status"] == 401


async def test_stdio_refuses_to_start_without_a_valid_token(redis_url: str, redis: Redis) -> None:
    """Auth on and no MCP_TOKEN, or a token Redis does not know: the command exits with a
    message instead of serving anyone."""
    cases = [({"AUTH_MODE": "token"}, "needs MCP_TOKEN"),
             ({"AUTH_MODE": "token", "MCP_TOKEN": "amt_unknown"}, "MCP_TOKEN was refused")]
    for env, message in cases:
        params = stdio_params(redis_url, **env)
        proc = await asyncio.create_subprocess_exec(
            params.command, *params.args, env={**os.environ, **(params.env or {})},
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(b""), timeout=30)
        assert proc.returncode != 0
        assert message in err.decode() and out == b""


async def test_default_mcp_namespace_fills_calls(redis_url: str, redis: Redis) -> None:
    """DEFAULT_MCP_NAMESPACE and DEFAULT_MCP_USER_ID fill what a call leaves out (AMS)."""
    async with stdio_client(redis_url, DEFAULT_MCP_NAMESPACE="desk",
                            DEFAULT_MCP_USER_ID="u1") as client:
        result(await client.call_tool("create_long_term_memories", {"memories": [
            {"id": "m1", "text": "Lunch is at noon"}]}))
        got = result(await client.call_tool("get_long_term_memory", {"memory_id": "m1"}))
        assert (got["namespace"], got["user_id"]) == ("desk", "u1")
        session = result(await client.call_tool("set_working_memory", {
            "session_id": "s", "messages": [{"role": "user", "content": "hi"}]}))
        assert (session["namespace"], session["user_id"]) == ("desk", "u1")
