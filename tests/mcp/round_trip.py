"""One call of every tool, checked against what it must have done (shared by the stdio
and HTTP tests)."""

from __future__ import annotations

import time
from typing import Any

from mcp.client import Client

from tests.mcp.conftest import error, result

AMS_TOOLS = {
    "get_current_datetime", "create_long_term_memories", "search_long_term_memory",
    "memory_prompt", "set_working_memory", "get_working_memory", "get_long_term_memory",
    "edit_long_term_memory", "delete_long_term_memories", "compact_long_term_memories",
}
OUR_TOOLS = {"append_messages", "forget_memories"}


async def check_tool_list(client: Client) -> dict[str, Any]:
    """Every tool is listed with a description and an object schema; returns them by name."""
    listed = {t.name: t for t in (await client.list_tools()).tools}
    assert AMS_TOOLS | OUR_TOOLS <= set(listed)
    for tool in listed.values():
        assert tool.description and len(tool.description) < 600, tool.name
        assert tool.input_schema["type"] == "object"
        # Results carry structured content without an output schema: the SDK's client
        # would validate each result against it with jsonschema (see runtime.reply).
        assert tool.output_schema is None
    search = listed["search_long_term_memory"].input_schema
    assert {"text", "search_mode", "session_id", "namespace", "topics", "entities",
            "created_at", "last_accessed", "user_id", "memory_type", "event_date",
            "distance_threshold", "limit", "offset", "optimize_query", "recency_boost",
            "server_side_recency"} <= set(search["properties"])
    assert "ctx" not in search["properties"]
    assert listed["set_working_memory"].input_schema["required"] == ["session_id"]
    assert set(listed["memory_prompt"].input_schema["required"]) == {"query"}
    assert listed["delete_long_term_memories"].input_schema["required"] == ["memory_ids"]
    assert listed["get_current_datetime"].input_schema.get("properties", {}) == {}
    return listed


async def round_trip(client: Client, namespace: str = "ns") -> None:
    """Call each tool once, in an order where each result can be checked."""
    clock = result(await client.call_tool("get_current_datetime", {}))
    assert clock["iso_utc"].endswith("Z") and abs(clock["unix_ts"] - time.time()) < 60

    session = result(await client.call_tool("set_working_memory", {
        "session_id": "s1", "namespace": namespace, "data": {"k": 1},
        "messages": [{"role": "user", "content": "I drink oolong every morning"},
                     {"role": "assistant", "content": "Noted"}]}))
    assert [m["content"] for m in session["messages"]] == ["I drink oolong every morning", "Noted"]
    assert session["ttl_seconds"] is None  # as REST (AMS's MCP tool defaulted to one hour)

    appended = result(await client.call_tool("append_messages", {
        "session_id": "s1", "namespace": namespace,
        "messages": [{"role": "user", "content": "and green tea at night", "id": "m-3"}]}))
    assert len(appended["messages"]) == 3
    again = result(await client.call_tool("append_messages", {
        "session_id": "s1", "namespace": namespace,
        "messages": [{"role": "user", "content": "and green tea at night", "id": "m-3"}]}))
    assert len(again["messages"]) == 3  # a re-sent id is stored once

    read = result(await client.call_tool("get_working_memory", {
        "session_id": "s1", "namespace": namespace}))
    assert read["data"] == {"k": 1} and read["messages"][-1]["id"] == "m-3"

    created = result(await client.call_tool("create_long_term_memories", {"memories": [
        {"id": "mem-1", "text": "Alice prefers oolong tea", "namespace": namespace,
         "topics": ["tea"]}]}))
    assert created["ids"] == ["mem-1"]

    found = result(await client.call_tool("search_long_term_memory", {
        "text": "oolong tea", "namespace": {"eq": namespace}}))
    assert found["total"] == 1 and found["memories"][0]["id"] == "mem-1"

    prompt = result(await client.call_tool("memory_prompt", {
        "query": "What tea do I like?", "session_id": {"eq": "s1"},
        "namespace": {"eq": namespace}}))
    texts = [m["content"]["text"] for m in prompt["messages"]]
    assert any("green tea at night" in t for t in texts)
    assert any("Alice prefers oolong tea" in t for t in texts)
    assert texts[-1] == "What tea do I like?" and prompt["tokens_used"] > 0

    got = result(await client.call_tool("get_long_term_memory", {"memory_id": "mem-1"}))
    assert got["text"] == "Alice prefers oolong tea"

    edited = result(await client.call_tool("edit_long_term_memory", {
        "memory_id": "mem-1", "text": "Alice prefers oolong tea since 2025",
        "event_date": "2025-01-15T14:30:00Z", "memory_type": "episodic"}))
    assert edited["text"].endswith("since 2025") and edited["memory_type"] == "episodic"
    assert edited["event_date"].startswith("2025-01-15T14:30:00")

    compacted = result(await client.call_tool("compact_long_term_memories", {
        "namespace": namespace}))
    assert "1 memories remaining" in compacted["status"]

    deleted = result(await client.call_tool("delete_long_term_memories", {
        "memory_ids": ["mem-1", "no-such-id"]}))
    assert deleted["status"] == "ok, deleted 1 memories"
    missing = error(await client.call_tool("get_long_term_memory", {"memory_id": "mem-1"}))
    assert missing["status"] == 404 and missing["error"]["code"] == "not_found"

    result(await client.call_tool("create_long_term_memories", {"memories": [
        {"id": "mem-2", "text": "Alice's old address was 4 Elm Street", "namespace": namespace}]}))
    forgot = result(await client.call_tool("forget_memories", {
        "memory_ids": ["mem-2", "never-stored"],
        "reason": "user invoked the right to be forgotten (GDPR Article 17)"}))
    assert forgot["forgotten"] == ["mem-2"] and forgot["not_found"] == ["never-stored"]
    assert forgot["method"] == "gdpr_request"
    gone = result(await client.call_tool("search_long_term_memory", {
        "text": "Elm Street", "namespace": {"eq": namespace}}))
    assert gone["total"] == 0


async def bad_arguments(client: Client) -> None:
    """Bad arguments are tool errors with a clear message; the session keeps working."""
    wrong_type = await client.call_tool("search_long_term_memory", {"text": "x", "limit": "many"})
    assert wrong_type.is_error and "limit" in wrong_type.content[0].text
    too_many = error(await client.call_tool("search_long_term_memory", {"text": "x",
                                                                        "limit": 1000}))
    assert too_many["status"] == 422 and too_many["detail"][0]["loc"] == ["arguments", "limit"]
    empty_tag = error(await client.call_tool("search_long_term_memory", {
        "text": "x", "namespace": {"eq": ""}}))
    assert empty_tag["status"] == 422  # an empty tag would be a wildcard: refused
    blank = error(await client.call_tool("create_long_term_memories", {"memories": [
        {"text": "   "}]}))
    assert blank["status"] == 422
    missing = await client.call_tool("get_long_term_memory", {})
    assert missing.is_error and "memory_id" in missing.content[0].text
    no_session = error(await client.call_tool("get_working_memory", {"session_id": "nope"}))
    assert no_session["status"] == 404  # as REST (AMS answered an empty session)
    mode = error(await client.call_tool("search_long_term_memory", {
        "text": "x", "search_mode": "keyword", "distance_threshold": 0.5}))
    assert mode["status"] == 400
    unsupported = error(await client.call_tool("compact_long_term_memories", {
        "session_id": "s1"}))
    assert unsupported["status"] == 422
    no_ids = error(await client.call_tool("forget_memories", {"memory_ids": []}))
    assert no_ids["status"] == 422
    unknown = await client.call_tool("no_such_tool", {})
    assert unknown.is_error
    # Still serving after all of the above.
    assert result(await client.call_tool("get_current_datetime", {}))["unix_ts"] > 0
