"""The served API answers each request with one TCP segment (api/_protocol.py)."""

from __future__ import annotations

import socket
import struct

from agent_memory.settings import Settings
from tests.support.live_server import live_server

_TCPI_SEGS_IN = 140  # offset of tcpi_segs_in in Linux's struct tcp_info (since 4.2)


def _segments_received(sock: socket.socket) -> int:
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    return int(struct.unpack_from("I", info, _TCPI_SEGS_IN)[0])


def _read_response(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length")))
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def test_a_response_head_and_body_leave_in_one_segment(settings: Settings) -> None:
    requests = 20
    with live_server(settings) as url:
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port))) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            request = f"GET /v1/health HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
            sock.sendall(request)
            assert _read_response(sock).startswith(b"HTTP/1.1 200")  # warm up
            before = _segments_received(sock)
            for _ in range(requests):
                sock.sendall(request)
                response = _read_response(sock)
                assert response.startswith(b"HTTP/1.1 200") and response.endswith(b"}")
            received = _segments_received(sock) - before
    # uvicorn alone writes head and body separately: two segments per response.
    assert received < requests * 1.5, received
