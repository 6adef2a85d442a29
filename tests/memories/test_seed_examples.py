"""The seed's request examples, verbatim, give the documented shapes and defaults."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.tasks.conftest import Stack

SMALLEST = {"text": "Alice decided to adopt a microservices architecture for the Q2 roadmap."}
RICH = {
    "text": "Budget approved: $50K for infrastructure upgrades",
    "metadata": {"file_type": "pdf", "department": "finance", "fiscal_year": "2026"},
    "source": "email",
    "event_type": "financial_decision",
    "tags": ["budget", "urgent"],
    "importance": 0.9,
    "ttl_minutes": 10080,
}
RECALL = {
    "query": "What budgets were approved for infrastructure?",
    "k": 5,
    "filters": {
        "sources": ["email"],
        "tags": ["budget"],
        "since": "2026-04-01T00:00:00+00:00",
        "until": "2026-05-31T23:59:59+00:00",
        "include_summaries": True,
        "tier": "hot",
    },
    "weights": {"semantic": 0.5, "recency": 0.3, "importance": 0.2},
    "session_id": "sess_abc123",
}
SEED_FIELDS = {"id", "user_id", "text", "summary", "created_at", "updated_at", "metadata",
               "tags", "source", "event_type", "tier", "importance", "is_summary",
               "expires_at", "key_points", "quality_score", "memory_type"}


async def test_smallest_add_gets_the_documented_defaults(stack: Stack) -> None:
    """Only text: importance 0.5, empty metadata and tags, hot, no expiry, an integer id,
    and (offline) rules classify it as a decision, saying they are rules."""
    response = await stack.client.post("/v1/memories", json=SMALLEST)
    assert response.status_code == 201, response.text
    body = response.json()
    assert SEED_FIELDS <= set(body)
    assert isinstance(body["id"], int) and body["user_id"] is None  # an admin, no user named
    for_user = await stack.client.post("/v1/memories", json={**SMALLEST, "user_id": 10})
    assert for_user.json()["user_id"] == 10 and for_user.json()["id"] == body["id"] + 1
    assert body["importance"] == 0.5 and body["metadata"] == {} and body["tags"] == []
    assert body["tier"] == "hot" and body["is_summary"] is False and body["expires_at"] is None
    assert body["source"] is None and body["event_type"] is None
    assert body["memory_type"] == "decision"
    assert body["summary"] == SMALLEST["text"]
    assert body["key_points"] and body["quality_score"] is None  # rules never guess quality
    assert body["enrichment"] == {"status": "done", "method": "rules", "pending": [],
                                  "note": None}
    fetched = await stack.client.get(f"/v1/memories/{body['id']}")
    assert fetched.status_code == 200
    assert {k: fetched.json()[k] for k in SEED_FIELDS - {"tier"}} == \
        {k: body[k] for k in SEED_FIELDS - {"tier"}}


async def test_rich_add_round_trips_every_field(stack: Stack) -> None:
    """The rich example: fields echoed, expires_at seven days after created_at, and the
    row is in the shared long-term store (one record, AMS memory_type untouched)."""
    response = await stack.client.post("/v1/memories", json=RICH)
    assert response.status_code == 201, response.text
    body = response.json()
    for name in ("text", "metadata", "source", "event_type", "tags", "importance"):
        assert body[name] == RICH[name]
    created = datetime.fromisoformat(body["created_at"])
    assert datetime.fromisoformat(body["expires_at"]) - created == timedelta(minutes=10080)
    assert body["memory_type"] == "financial_decision"
    assert body["lifecycle"]["expires_at"] == body["expires_at"]
    ams = await stack.client.get(f"/v1/long-term-memory/{body['id']}")
    assert ams.status_code == 200
    record = ams.json()
    assert record["id"] == str(body["id"]) and record["memory_type"] == "semantic"
    assert record["tags"] == ["budget", "urgent"] and record["importance"] == 0.9


async def test_the_recall_example_finds_the_rich_memory(stack: Stack) -> None:
    """The seed's recall body, verbatim, returns the matching row with its score parts
    (its since/until window is moved to today so the row falls inside)."""
    added = (await stack.client.post("/v1/memories", json=RICH)).json()
    await stack.client.post("/v1/memories", json={**RICH, "source": "slack"})
    recall = {**RECALL, "filters": {**RECALL["filters"], "since": added["created_at"],
                                    "until": added["expires_at"]}}
    response = await stack.client.post("/v1/memories/recall", json=recall)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["k"] == 5 and body["weights"] == {"semantic": 0.5, "recency": 0.3,
                                                  "importance": 0.2}
    assert [hit["id"] for hit in body["results"]] == [added["id"]]
    hit = body["results"][0]
    parts = hit["components"]
    assert hit["score"] == 0.5 * parts["semantic"] + 0.3 * parts["recency"] + 0.2 * parts["importance"]
    assert parts["importance"] == 0.9
    # The verbatim window (spring 2026) holds nothing written today.
    verbatim = await stack.client.post("/v1/memories/recall", json=RECALL)
    assert verbatim.status_code == 200 and verbatim.json()["results"] == []
