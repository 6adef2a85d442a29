"""Oversized uploads over real HTTP get a clean 4xx, never a reset connection."""

from __future__ import annotations

import httpx

from agent_memory.settings import Settings
from tests.conftest import make_settings
from tests.support.live_server import live_server

BIG = b'{"messages":[{"role":"user","content":"' + b"x" * (50 * 1024 * 1024) + b'"}]}'


async def test_fifty_megabyte_body_is_a_clean_413(settings: Settings) -> None:
    """The client finishes its upload and reads a JSON 413; the server keeps serving."""
    with live_server(settings) as url:
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            response = await http.put("/v1/working-memory/big", content=BIG,
                                      headers={"content-type": "application/json"})
            assert response.status_code == 413
            assert response.json()["error"]["code"] == "payload_too_large"
            assert (await http.get("/v1/health")).status_code == 200


async def test_streamed_oversized_body_is_a_clean_413(settings: Settings) -> None:
    """Without Content-Length (chunked upload) the limit still holds and answers cleanly."""
    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(12):
            yield b"x" * (1024 * 1024)

    with live_server(settings) as url:
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            response = await http.put("/v1/working-memory/big", content=chunks(),
                                      headers={"content-type": "application/json"})
            assert response.status_code == 413


async def test_unauthenticated_upload_reads_its_401(redis_url: str, redis: object) -> None:
    """Auth answers before reading the body; the upload still ends in a readable 401."""
    with live_server(make_settings(redis_url, auth_mode="token")) as url:
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            response = await http.put("/v1/working-memory/big", content=b"{" + b" " * (5 * 1024 * 1024) + b"}",
                                      headers={"content-type": "application/json"})
            assert response.status_code == 401
            assert response.headers["www-authenticate"].startswith("Bearer")
