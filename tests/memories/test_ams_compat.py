"""The same rows through the AMS routes: agent-memory-client 0.14.0 still reads and
searches them, and the AMS search gains filters on tags, source, tier and importance."""

from __future__ import annotations

import httpx
from agent_memory_client import MemoryAPIClient, MemoryClientConfig
from agent_memory_client.filters import Namespace

from agent_memory.settings import Settings
from tests.support.live_server import live_server
from tests.tasks.conftest import Stack

RICH = {"text": "Budget approved: $50K for infrastructure upgrades", "namespace": "demo",
        "metadata": {"department": "finance"}, "source": "email",
        "event_type": "financial_decision", "tags": ["budget", "urgent"], "importance": 0.9,
        "ttl_minutes": 10080}


async def test_the_official_client_reads_and_searches_door_rows(settings: Settings) -> None:
    """Get by id and search through the 0.14 client parse rows this door wrote."""
    with live_server(settings) as url:
        async with httpx.AsyncClient(base_url=url) as http:
            added = (await http.post("/v1/memories", json=RICH)).json()
        client = MemoryAPIClient(MemoryClientConfig(base_url=url, default_namespace="demo"))
        try:
            record = await client.get_long_term_memory(str(added["id"]))
            assert record.id == str(added["id"]) and record.text == RICH["text"]
            assert record.namespace == "demo"
            found = await client.search_long_term_memory(
                text="infrastructure budget", namespace=Namespace(eq="demo"))
            assert [m.id for m in found.memories] == [str(added["id"])]
        finally:
            await client.close()


async def test_ams_search_filters_on_the_new_fields(stack: Stack) -> None:
    """tags, source, tier and an importance range filter the AMS search in every mode,
    and its results carry the new fields."""
    c = stack.client
    rich = (await c.post("/v1/memories", json=RICH)).json()
    plain = (await c.post("/v1/memories", json={"text": "Budget draft for infrastructure",
                                                 "namespace": "demo", "source": "slack",
                                                 "importance": 0.2})).json()
    for mode in ("semantic", "keyword", "hybrid"):
        for filters, expected in (
            ({"tags": {"any": ["budget"]}}, [rich["id"]]),
            ({"source": {"eq": "slack"}}, [plain["id"]]),
            ({"importance": {"gte": 0.5}}, [rich["id"]]),
            ({"importance": {"gt": 0.1, "lt": 0.3}}, [plain["id"]]),
            ({"tier": {"eq": "cold"}}, []),
        ):
            response = await c.post("/v1/long-term-memory/search", json={
                "text": "budget infrastructure", "search_mode": mode, **filters})
            assert response.status_code == 200, response.text
            got = [m["id"] for m in response.json()["memories"]]
            assert got == [str(i) for i in expected], (mode, filters, got)
    hit = (await c.post("/v1/long-term-memory/search", json={
        "text": "budget", "tags": {"eq": "urgent"}})).json()["memories"][0]
    assert hit["tags"] == ["budget", "urgent"] and hit["source"] == "email"
    assert hit["tier"] == "hot" and hit["importance"] == 0.9
    assert hit["expires_at"] == rich["expires_at"]
    bad = await c.post("/v1/long-term-memory/search", json={"text": "x",
                                                            "tier": {"eq": "tepid"}})
    assert bad.status_code == 422
