"""Fixtures for the MCP tests: the SDK's own client over stdio (``agent-memory mcp`` as a
subprocess) and over streamable HTTP (a live server in a thread)."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

AGENT_MEMORY = str(Path(sys.executable).with_name("agent-memory"))


def stdio_params(redis_url: str, **env: str) -> StdioServerParameters:
    """``agent-memory mcp`` against the test Redis, with the test settings of
    ``make_settings`` (hashing embedder, no model)."""
    return StdioServerParameters(command=AGENT_MEMORY, args=["mcp"], env={
        "REDIS_URL": redis_url, "EMBEDDING_PROVIDER": "hashing", "GC_TUNING": "false",
        "LOG_LEVEL": "WARNING", **env})


@asynccontextmanager
async def stdio_client(redis_url: str, **env: str) -> AsyncIterator[Client]:
    """An initialized client of a fresh ``agent-memory mcp`` subprocess."""
    async with Client(stdio_params(redis_url, **env), read_timeout_seconds=30) as client:
        yield client


@asynccontextmanager
async def http_client(url: str, token: str | None = None) -> AsyncIterator[Client]:
    """An initialized streamable-HTTP client of ``url`` (bearer ``token`` when given)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
        async with Client(streamable_http_client(url, http_client=http),
                          read_timeout_seconds=30) as client:
            yield client


def result(call: Any) -> Any:
    """A successful tool result's structured content (fails the test on a tool error)."""
    assert not call.is_error, call.content[0].text
    return call.structured_content


def error(call: Any) -> dict[str, Any]:
    """A tool error's REST-shaped body (the JSON after the summary line)."""
    assert call.is_error, call.structured_content
    text = call.content[0].text
    return json.loads(text[text.index("{"):])
