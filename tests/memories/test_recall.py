"""Recall: weights change the order as documented, k is clamped, filters apply, and the
score is the weighted sum of the three components shown with each hit."""

from __future__ import annotations

import pytest

from tests.tasks.conftest import Stack, drain

RECALL = "/v1/memories/recall"


async def _add(stack: Stack, text: str, **fields: object) -> int:
    response = await stack.client.post("/v1/memories", json={"text": text, **fields})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def _order(stack: Stack, **body: object) -> list[int]:
    response = await stack.client.post(RECALL, json=body)
    assert response.status_code == 200, response.text
    return [hit["id"] for hit in response.json()["results"]]


async def test_weights_change_the_order_as_documented(stack: Stack) -> None:
    """A close but unimportant match wins on meaning; an important loose match wins on
    importance; an old row loses on recency (its last access moved back with the clock)."""
    close = await _add(stack, "quarterly infrastructure budget approved", importance=0.1)
    loose = await _add(stack, "the team lunch menu for friday", importance=1.0)
    query = "quarterly infrastructure budget approved"
    assert (await _order(stack, query=query, weights={"semantic": 1}))[0] == close
    assert (await _order(stack, query=query, weights={"importance": 1}))[0] == loose
    # Ten days later a fresh row is written; recency alone puts it first.
    assert stack.services.clock is not None
    stack.services.clock.advance(10 * 86400)
    fresh = await _add(stack, "an unrelated note written later", importance=0.0)
    by_recency = (await stack.client.post(RECALL, json={"query": query,
                                                        "weights": {"recency": 1}})).json()
    assert by_recency["results"][0]["id"] == fresh
    old = next(h for h in by_recency["results"] if h["id"] == close)["components"]["recency"]
    assert old == pytest.approx(0.5 ** (10 / 7), rel=1e-3)  # 10 idle days, half-life 7
    # Being recalled is an access, recorded off the request path by track_access.
    assert stack.services.background is not None
    await stack.services.background.flush_access()
    await drain(stack.docket)
    body = (await stack.client.post(RECALL, json={"query": query, "weights": {
        "semantic": 2, "recency": 1, "importance": 1}})).json()
    assert body["weights"] == {"semantic": 0.5, "recency": 0.25, "importance": 0.25}
    scores = [hit["score"] for hit in body["results"]]
    assert scores == sorted(scores, reverse=True)
    for hit in body["results"]:
        c = hit["components"]
        assert hit["score"] == pytest.approx(0.5 * c["semantic"] + 0.25 * c["recency"]
                                             + 0.25 * c["importance"])
        assert all(0 <= v <= 1 for v in c.values())
    again = next(h for h in body["results"] if h["id"] == close)["components"]["recency"]
    assert again == pytest.approx(1.0)


async def test_k_is_clamped_not_rejected(stack: Stack) -> None:
    """k 500 returns at most 50; k 0 or negative returns one."""
    for n in range(60):
        await _add(stack, f"note number {n} about the garden")
    many = (await stack.client.post(RECALL, json={"query": "garden", "k": 500})).json()
    assert many["k"] == 50 and len(many["results"]) == 50
    for k in (0, -3):
        one = (await stack.client.post(RECALL, json={"query": "garden", "k": k})).json()
        assert one["k"] == 1 and len(one["results"]) == 1


@pytest.mark.parametrize("weights", [{"semantic": -0.1, "recency": 1},
                                     {"semantic": 0, "recency": 0, "importance": 0},
                                     {"semantic": 1, "novelty": 1}])
async def test_bad_weights_are_a_422(stack: Stack, weights: dict[str, float]) -> None:
    """Negative, all-zero or unknown weights: 422 with both error shapes."""
    response = await stack.client.post(RECALL, json={"query": "x", "weights": weights})
    assert response.status_code == 422
    body = response.json()
    assert isinstance(body["detail"], list) and body["error"]["code"] == "validation_error"


async def test_filters_narrow_the_candidates(stack: Stack) -> None:
    """sources, tags (any), tier, metadata equality and summaries filter the rows; an
    unknown filter field is a 422."""
    email = await _add(stack, "invoice paid", source="email", tags=["finance"],
                       metadata={"department": "finance", "year": 2026})
    slack = await _add(stack, "invoice questioned", source="slack", tags=["finance", "q"],
                       metadata={"department": "ops", "year": 2026})
    q = "invoice"
    assert await _order(stack, query=q, filters={"sources": ["email"]}) == [email]
    assert set(await _order(stack, query=q, filters={"tags": ["q", "finance"]})) == {email, slack}
    assert await _order(stack, query=q, filters={"metadata": {"department": "ops"}}) == [slack]
    assert set(await _order(stack, query=q, filters={"metadata": {"year": 2026}})) == {email, slack}
    assert await _order(stack, query=q, filters={"tier": ["warm", "cold"]}) == []
    assert set(await _order(stack, query=q, filters={"tier": "hot"})) == {email, slack}
    bad = await stack.client.post(RECALL, json={"query": q, "filters": {"colour": "red"}})
    assert bad.status_code == 422


async def test_recall_stays_within_the_callers_user(stack: Stack) -> None:
    """user_id scopes recall: another user's rows never appear."""
    mine = await _add(stack, "my favourite colour is green", user_id="u1")
    await _add(stack, "my favourite colour is green", user_id="u2")
    assert await _order(stack, query="favourite colour", user_id="u1") == [mine]
