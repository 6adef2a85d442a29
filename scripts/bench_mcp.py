"""MCP tool latency next to the REST route on the same data: search and prompt.

Starts a throw-away embedded Redis and two server processes on it (hashing embedder):
``agent-memory api`` with ``MCP_ON_API=true`` (REST and MCP in one process) and a standalone
``agent-memory mcp --transport streamable-http``. Seeds 1,000 long-term memories and a
40-message session over REST, then times, sequentially over keep-alive connections, in
rounds that alternate the targets so machine noise hits them alike:

- ``POST /v1/long-term-memory/search`` vs the ``search_long_term_memory`` tool;
- ``POST /v1/memory/prompt`` (session + long-term search) vs the ``memory_prompt`` tool.

MCP calls are JSON-RPC ``tools/call`` POSTs, in an initialized session (protocol
2025-06-18) and as self-contained 2026-07-28 requests (what the SDK's client sends by
default); answers are JSON;
both sides use the same minimal HTTP client, so the figures compare servers, not client
libraries. The difference is the MCP layer's cost: JSON-RPC framing, argument validation
against the tool schema, and the structured plus text result.

    .venv/bin/python scripts/bench_mcp.py [--rounds 10] [--per-round 100]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent_memory.embedded_redis import free_port, temporary_redis
from agent_memory.models.long_term import MemoryRecordResultsResponse
from scripts._bench.cpu import children, cpu_seconds
from scripts._bench.harness import ApiUrl, api_process, percentile, server_process
from scripts._bench.http import Connection

TOPICS = ["flights to Lisbon", "green tea", "chess openings", "sailing knots", "bread baking",
          "jazz records", "hiking trails", "tax forms", "piano lessons", "garden tomatoes"]
PROTOCOL = "2025-06-18"  # the session protocol most clients speak today
MODERN = "2026-07-28"
SEARCH = {"text": "green tea", "namespace": {"eq": "bench"}, "limit": 10}
PROMPT_REST = {"query": "what tea do I like?",
               "session": {"session_id": "chat", "namespace": "bench"},
               "long_term_search": {"text": "what tea do I like?",
                                    "namespace": {"eq": "bench"}, "limit": 10}}
PROMPT_MCP = {"query": "what tea do I like?", "session_id": {"eq": "chat"},
              "namespace": {"eq": "bench"}, "limit": 10}


@contextlib.contextmanager
def mcp_process(redis_url: str) -> Iterator[ApiUrl]:
    """Run ``agent-memory mcp --transport streamable-http``; yield its base URL."""
    port = free_port()
    with server_process(["mcp", "--transport", "streamable-http", "--no-worker"], port,
                        "/mcp", {"REDIS_URL": redis_url, "MCP_PORT": str(port)},
                        answers_with_error=True) as url:  # a GET without a session: refused
        yield url


class PortedConnection(Connection):
    """Sends ``Host: host:port``: the SDK's DNS-rebinding check on loopback wants the port."""

    def prepare(self, method: str, path: str, body: object = None,
                headers: dict[str, str] | None = None) -> bytes:
        raw = super().prepare(method, path, body, headers)
        return raw.replace(f"host: {self.host}\r\n".encode(),
                           f"host: {self.host}:{self.port}\r\n".encode(), 1)


class McpTarget:
    """An initialized MCP session on one keep-alive connection."""

    def __init__(self, url: str) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.conn = PortedConnection(host, int(port))
        self.headers = {"accept": "application/json, text/event-stream",
                        "mcp-protocol-version": PROTOCOL}

    async def open(self) -> None:
        init = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": PROTOCOL, "capabilities": {},
            "clientInfo": {"name": "bench", "version": "0"}}}
        raw = self.conn.prepare("POST", "/mcp", init, self.headers)
        # The session id comes back as a header, which Connection does not keep.
        self.headers["mcp-session-id"] = await self._session_id(raw)
        note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        await self.conn.request("POST", "/mcp", note, self.headers)

    async def _session_id(self, raw: bytes) -> str:
        reader, writer = await asyncio.open_connection(self.conn.host, self.conn.port)
        writer.write(raw)
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        writer.close()
        for line in head.split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "mcp-session-id":
                return value.strip()
        raise RuntimeError("no mcp-session-id header")

    def prepare(self, tool: str, arguments: dict) -> bytes:
        call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                "params": {"name": tool, "arguments": arguments}}
        return self.conn.prepare("POST", "/mcp", call, self.headers)

    async def time(self, raw: bytes) -> float:
        started = time.perf_counter()
        status, body = await self.conn.send(raw)
        elapsed = time.perf_counter() - started
        if status != 200 or b'"isError":true' in body:
            raise RuntimeError(f"MCP call failed: {status} {body[:300]!r}")
        return elapsed


class ModernTarget(McpTarget):
    """Protocol 2026-07-28, as the SDK's own client speaks by default: every call a
    self-contained POST (no session, no initialize)."""

    async def open(self) -> None:
        self.headers = {"accept": "application/json, text/event-stream",
                        "mcp-protocol-version": MODERN}

    def prepare(self, tool: str, arguments: dict) -> bytes:
        meta = {"io.modelcontextprotocol/protocolVersion": MODERN,
                "io.modelcontextprotocol/clientInfo": {"name": "bench", "version": "0"},
                "io.modelcontextprotocol/clientCapabilities": {}}
        call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                "params": {"name": tool, "arguments": arguments, "_meta": meta}}
        headers = {**self.headers, "mcp-method": "tools/call", "mcp-name": tool}
        return self.conn.prepare("POST", "/mcp", call, headers)


async def time_rest(conn: Connection, raw: bytes) -> float:
    started = time.perf_counter()
    status, body = await conn.send(raw)
    elapsed = time.perf_counter() - started
    if status != 200:
        raise RuntimeError(f"REST call failed: {status} {body[:300]!r}")
    return elapsed


async def seed(conn: Connection) -> None:
    messages = [{"role": "user" if i % 2 == 0 else "assistant", "id": f"m{i}",
                 "content": f"Turn {i}: we discussed {TOPICS[i % 10]} and what comes next."}
                for i in range(40)]
    status, body = await conn.request("PUT", "/v1/working-memory/chat", {
        "messages": messages, "namespace": "bench", "context": "The user likes tea. " * 5})
    assert status == 200, body
    for start in range(0, 1000, 250):
        memories = [{"id": f"mem{i}", "namespace": "bench", "session_id": "old",
                     "text": f"Fact {i}: the user cares about {TOPICS[i % 10]} ({i % 7} notes)."}
                    for i in range(start, start + 250)]
        status, body = await conn.request("POST", "/v1/long-term-memory/",
                                          {"memories": memories, "deduplicate": False})
        assert status == 200, body


async def run(api: ApiUrl, mcp: ApiUrl, rounds: int,
              per_round: int) -> dict[str, dict[str, float]]:
    host, port = api.removeprefix("http://").split(":")
    rest = Connection(host, int(port))
    await seed(rest)
    on_api, modern, standalone = McpTarget(api), ModernTarget(api), McpTarget(mcp)
    for target in (on_api, modern, standalone):
        await target.open()
    cases = {
        "search": (rest.prepare("POST", "/v1/long-term-memory/search", SEARCH),
                   "search_long_term_memory", SEARCH),
        "prompt": (rest.prepare("POST", "/v1/memory/prompt", PROMPT_REST),
                   "memory_prompt", PROMPT_MCP),
    }
    samples: dict[str, list[float]] = {}
    cpu: dict[str, float] = {}
    for case, (rest_raw, tool, arguments) in cases.items():
        api_raw, modern_raw, standalone_raw = (
            on_api.prepare(tool, arguments), modern.prepare(tool, arguments),
            standalone.prepare(tool, arguments))
        api_pids, mcp_pids = children(api.pid), children(mcp.pid)
        pids = {f"{case}: MCP tool (agent-memory mcp)": mcp_pids}
        targets = {
            f"{case}: REST route": lambda raw=rest_raw: time_rest(rest, raw),
            f"{case}: MCP tool (API port)": lambda raw=api_raw: on_api.time(raw),
            f"{case}: MCP tool (API port, {MODERN})": lambda raw=modern_raw: modern.time(raw),
            f"{case}: MCP tool (agent-memory mcp)": lambda raw=standalone_raw:
                standalone.time(raw),
        }
        for timer in targets.values():  # warm up every path
            for _ in range(50):
                await timer()
        for _ in range(rounds):
            for name, timer in targets.items():
                # Server CPU per call: wall time on a shared machine mostly measures the
                # neighbours; the server's own CPU time does not.
                before = cpu_seconds(pids.get(name, api_pids))
                for _ in range(per_round):
                    samples.setdefault(name, []).append(await timer())
                cpu[name] = cpu.get(name, 0.0) + cpu_seconds(pids.get(name, api_pids)) - before
    figures = {}
    for name, values in samples.items():
        figures[name] = {"p50_ms": statistics.median(values) * 1000,
                         "p95_ms": percentile(values, 95) * 1000, "n": len(values),
                         "server_cpu_ms": cpu[name] / len(values) * 1000}
        print(f"{name:<44} n={len(values):<5} p50={figures[name]['p50_ms']:7.3f} ms  "
              f"p95={figures[name]['p95_ms']:7.3f} ms  "
              f"server CPU={figures[name]['server_cpu_ms']:6.3f} ms/call")
    _, body = await rest.send(cases["search"][0])
    checked = await client_schema_check(json.loads(body))
    print(f"search result ({len(json.loads(body)['memories'])} memories) checked against an "
          f"output schema, as the MCP Python client would: {checked:.3f} ms median")
    figures["client output-schema check"] = {"p50_ms": checked}
    for case in cases:
        base = figures[f"{case}: REST route"]["p50_ms"]
        for where in ("API port", f"API port, {MODERN}", "agent-memory mcp"):
            mcp_figures = figures[f"{case}: MCP tool ({where})"]
            extra = mcp_figures["p50_ms"] - base
            extra_cpu = mcp_figures["server_cpu_ms"] - figures[f"{case}: REST route"][
                "server_cpu_ms"]
            print(f"{case}: MCP ({where}) - REST: p50 {extra:+.3f} ms, "
                  f"server CPU {extra_cpu:+.3f} ms/call")
    return figures


async def client_schema_check(search_body: dict) -> float:
    """Median ms the SDK's Python client would spend checking one search result against an
    output schema, had the tool declared one (the schema the SDK derives from the REST
    response model; the client's own validator construction and check)."""
    from jsonschema.exceptions import best_match
    from jsonschema.validators import validator_for
    from mcp.server.mcpserver import MCPServer
    from referencing import Registry

    probe: MCPServer = MCPServer("schema-probe")

    @probe.tool(structured_output=True)
    async def search() -> MemoryRecordResultsResponse:  # never called: only its schema
        raise NotImplementedError

    (tool,) = await probe.list_tools()
    schema = tool.output_schema
    validator = validator_for(schema)(schema, registry=Registry())
    times = []
    for _ in range(200):
        started = time.perf_counter()
        assert best_match(validator.iter_errors(search_body)) is None
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--per-round", type=int, default=100)
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args()
    with (temporary_redis(prefix="am-bench-mcp-") as redis,
          api_process(redis.url, MCP_ON_API="true") as api, mcp_process(redis.url) as mcp):
        figures = asyncio.run(run(api, mcp, args.rounds, args.per_round))
    if args.json:
        print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
