"""Health and readiness."""

from __future__ import annotations

import time

import httpx


async def test_health_reports_now_in_ms(client: httpx.AsyncClient) -> None:
    """GET /v1/health answers {"now": ms since epoch}."""
    before = int(time.time() * 1000)
    response = await client.get("/v1/health")
    assert response.status_code == 200
    assert before <= response.json()["now"] <= int(time.time() * 1000)


async def test_ready_reports_redis_and_indexes(client: httpx.AsyncClient) -> None:
    """Readiness says Redis and each index answer."""
    body = (await client.get("/v1/health/ready")).json()
    assert body["ready"] is True and body["redis"] is True
    assert body["indexes"]["working_memory"] is True


async def test_unknown_route_is_json_404(client: httpx.AsyncClient) -> None:
    """Unknown paths answer JSON in the error shape."""
    response = await client.get("/v1/nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
