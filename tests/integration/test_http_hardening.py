"""HTTP-level hardening against a real uvicorn server (issue 12, items 9-11): raw sockets for
what an HTTP library would not send, JSON error bodies for every refusal."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import httpx
import pytest
from redis import Redis

from agent_memory.settings import Settings
from tests.conftest import make_settings
from tests.support.live_server import live_server


@pytest.fixture
def server(redis_url: str) -> Iterator[tuple[str, int]]:
    """``(base url, port)`` of a live server with a 1 s body timeout."""
    Redis.from_url(redis_url).flushdb()
    settings = make_settings(redis_url, request_body_timeout_seconds=1.0,
                             cors_allowed_origins=["https://app.example"])
    with live_server(settings) as url:
        yield url, int(url.rsplit(":", 1)[1])


def _exchange(port: int, data: bytes, wait: float = 5.0) -> tuple[bytes, float, bool]:
    """Send ``data``; return (what came back, seconds to the first byte, closed by server)."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(wait)
        start = time.monotonic()
        sock.sendall(data)
        first: float | None = None
        out = b""
        closed = False
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    closed = True
                    break
                if first is None:
                    first = time.monotonic() - start
                out += chunk
        except (TimeoutError, ConnectionResetError):
            pass
    return out, first if first is not None else wait, closed


def _status_and_json(raw: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    assert b"content-type: application/json" in head.lower(), head
    return status, json.loads(body)


# --- item 9 ---------------------------------------------------------------------------------

def test_declared_oversize_is_refused_at_once(server: tuple[str, int]) -> None:
    """A declared 100 MB body gets 413 before any of it is sent."""
    _, port = server
    raw, first, _ = _exchange(port, b"PUT /v1/working-memory/s HTTP/1.1\r\nHost: t\r\n"
                              b"Content-Type: application/json\r\n"
                              b"Content-Length: 104857600\r\n\r\n")
    status, body = _status_and_json(raw)
    assert status == 413 and body["error"]["code"] == "payload_too_large"  # type: ignore[index]
    assert first < 0.5, f"413 took {first:.2f}s"


def test_slow_body_gets_408_and_the_connection_is_closed(server: tuple[str, int]) -> None:
    """Content-Length 100 and 8 bytes sent: 408 after the configured timeout, then closed."""
    url, port = server
    raw, first, closed = _exchange(port, b"PUT /v1/working-memory/slow HTTP/1.1\r\nHost: t\r\n"
                                   b"Content-Type: application/json\r\n"
                                   b"Content-Length: 100\r\n\r\n{\"messa", wait=10)
    status, body = _status_and_json(raw)
    assert status == 408 and body["error"]["code"] == "request_timeout"  # type: ignore[index]
    assert 0.9 <= first < 5 and closed
    # Headers that never finish arrive at uvicorn's own limits, not ours; the server still serves.
    assert httpx.get(f"{url}/v1/working-memory/slow").status_code == 404  # nothing written


# --- item 10 --------------------------------------------------------------------------------

def test_cross_site_writes_are_refused(server: tuple[str, int]) -> None:
    url, _ = server
    with httpx.Client(base_url=url) as http:
        http.post("/v1/long-term-memory/", json={"memories": [{"id": "m1", "text": "keep me"}]})
        forget = {"policy": {"budget": 0}}
        # A "simple" cross-site request (text/plain, no preflight) is refused as 415.
        r = http.post("/v1/long-term-memory/forget", params={"dry_run": "false"},
                      content=json.dumps(forget), headers={"content-type": "text/plain"})
        assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_media_type"
        r = http.post("/v1/long-term-memory/forget", params={"dry_run": "false"},
                      content=json.dumps(forget))  # no content type at all
        assert r.status_code == 415
        # A browser on another origin: 403 even with the right content type.
        for origin in ("http://evil.example", "null", f"{url}.evil.example"):
            r = http.post("/v1/long-term-memory/forget", params={"dry_run": "false"},
                          json=forget, headers={"origin": origin})
            assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden", origin
        r = http.delete("/v1/long-term-memory/m1", headers={"origin": "http://evil.example"})
        assert r.status_code == 403
        assert http.get("/v1/long-term-memory/m1").status_code == 200  # nothing deleted
        # Reads from other origins, the server's own origin and allowed origins pass.
        assert http.get("/v1/long-term-memory/m1",
                        headers={"origin": "http://evil.example"}).status_code == 200
        for origin in (url, "https://app.example"):
            r = http.post("/v1/long-term-memory/search", json={"text": "keep"},
                          headers={"origin": origin, "content-type": "application/json; charset=utf-8"})
            assert r.status_code == 200, (origin, r.text)
        r = http.post("/v1/long-term-memory/search", content=b'{"text": "keep"}',
                      headers={"content-type": "application/vnd.api+json"})
        assert r.status_code == 200
        # The allowed origin gets CORS answers to its preflight.
        r = http.options("/v1/long-term-memory/search", headers={
            "origin": "https://app.example", "access-control-request-method": "POST"})
        assert r.headers.get("access-control-allow-origin") == "https://app.example"


def test_allow_list_is_empty_by_default(redis_url: str, redis: object) -> None:
    with live_server(make_settings(redis_url)) as url:
        r = httpx.post(f"{url}/v1/long-term-memory/search", json={"text": "x"},
                       headers={"origin": "https://app.example"})
        assert r.status_code == 403
        assert Settings(redis_url=redis_url).cors_allowed_origins == []


# --- item 11 --------------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "path", "allow"), [
    ("GET", "/v1/long-term-memory/search", "POST"),
    ("DELETE", "/v1/long-term-memory/forget", "POST"),
    ("PUT", "/v1/long-term-memory/compact", "POST"),
    ("POST", "/v1/working-memory/s1", "DELETE, GET, HEAD, PUT"),
    ("PATCH", "/v1/working-memory/", "GET, HEAD"),
    ("PUT", "/v1/long-term-memory/abc", "DELETE, GET, HEAD, PATCH"),
    ("PUT", "/v1/long-term-memory", "DELETE, POST"),
    ("GET", "/v1/memory/prompt", "POST"),
    ("DELETE", "/v1/health", "GET, HEAD"),
    ("POST", "/openapi.json", "GET, HEAD"),
])
def test_undeclared_methods_are_405_with_a_complete_allow(server: tuple[str, int], method: str,
                                                          path: str, allow: str) -> None:
    url, _ = server
    r = httpx.request(method, f"{url}{path}")
    assert r.status_code == 405, r.text
    assert sorted(r.headers["allow"].split(", ")) == allow.split(", ")
    assert r.json()["error"]["code"] == "method_not_allowed"


def test_over_long_url_is_a_json_414(server: tuple[str, int]) -> None:
    url, port = server
    raw, _, _ = _exchange(port, b"GET /v1/health?" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: t\r\n\r\n")
    status, body = _status_and_json(raw)
    assert status == 414 and body["error"]["code"] == "uri_too_long"  # type: ignore[index]
    # A query string of 1,000 memory ids still fits.
    ids = [f"01J{i:023d}" for i in range(1000)]
    assert httpx.delete(f"{url}/v1/long-term-memory", params={"memory_ids": ids}).status_code == 200
    raw, _, _ = _exchange(port, b"GARBAGE\r\n\r\n")
    status, body = _status_and_json(raw)
    assert status == 400 and body["error"]["code"] == "bad_request"  # type: ignore[index]
