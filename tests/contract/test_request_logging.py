"""Request ids (``X-Request-ID``) and the JSON access log, quiet by default."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from asgi_lifespan import LifespanManager

from agent_memory.app import create_app
from agent_memory.observability import JsonFormatter, RequestIdFilter, current_request_id
from agent_memory.observability.logging import ACCESS_LOGGER, accept_request_id
from tests.conftest import make_settings


async def test_request_id_is_echoed_or_generated(client: httpx.AsyncClient) -> None:
    """A safe client id comes back unchanged; without one each response gets a fresh id."""
    sent = await client.get("/v1/health", headers={"X-Request-ID": "trace-42.a:b"})
    assert sent.headers["x-request-id"] == "trace-42.a:b"
    first = (await client.get("/v1/health")).headers["x-request-id"]
    second = (await client.get("/v1/health")).headers["x-request-id"]
    assert first != second and len(first) == 32


async def test_unsafe_request_ids_are_replaced(client: httpx.AsyncClient) -> None:
    """Ids with spaces or quotes, or over 128 chars, are not echoed into headers and logs."""
    for bad in ("a b", 'x"y', "z" * 129, ""):
        got = (await client.get("/v1/health", headers={"X-Request-ID": bad})).headers
        assert got["x-request-id"] != bad and len(got["x-request-id"]) == 32
    assert accept_request_id("ok\r\nSet-Cookie: a=b") != "ok\r\nSet-Cookie: a=b"


async def test_error_responses_carry_the_request_id(client: httpx.AsyncClient) -> None:
    """Error responses (404, 422) carry the header too."""
    missing = await client.get("/v1/working-memory/none", headers={"X-Request-ID": "r1"})
    assert missing.status_code == 404 and missing.headers["x-request-id"] == "r1"
    invalid = await client.put("/v1/working-memory/s", content=b"{",
                               headers={"X-Request-ID": "r2", "Content-Type": "application/json"})
    assert invalid.status_code == 422 and invalid.headers["x-request-id"] == "r2"


async def test_access_log_is_quiet_by_default(client: httpx.AsyncClient,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """ACCESS_LOG unset: serving requests writes no access line."""
    await client.get("/v1/health")
    assert '"event": "request"' not in capsys.readouterr().err


async def test_access_log_writes_one_json_line_per_request(
        redis_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """ACCESS_LOG=true: one parseable JSON object per request, with route template and id."""
    app = create_app(make_settings(redis_url, access_log=True))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            capsys.readouterr()
            await client.get("/v1/working-memory/abc", headers={"X-Request-ID": "req-7"})
            await client.get("/v1/health")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()
             if '"event": "request"' in line]
    assert len(lines) == 2
    first = lines[0]
    assert first["method"] == "GET" and first["status"] == 404
    assert first["route"] == "/v1/working-memory/{session_id}"
    assert first["path"] == "/v1/working-memory/abc"
    assert first["request_id"] == "req-7"
    assert isinstance(first["duration_ms"], float) and first["duration_ms"] >= 0
    assert lines[1]["route"] == "/v1/health" and lines[1]["request_id"] != "req-7"
    assert len(logging.getLogger(ACCESS_LOGGER).handlers) == 1


def test_json_formatter_adds_the_request_id_of_the_context() -> None:
    """Other log records can carry the request id too (JsonFormatter + RequestIdFilter)."""
    record = logging.LogRecord("agent_memory.x", logging.WARNING, __file__, 1, "hello %s",
                               ("you",), None)
    RequestIdFilter().filter(record)
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "hello you" and entry["level"] == "warning"
    assert current_request_id() is None and record.request_id == "-"
