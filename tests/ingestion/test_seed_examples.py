"""The two seed examples, sent verbatim, get the documented response shapes."""

from __future__ import annotations

import re
from datetime import datetime

from tests.ingestion.conftest import INGESTION_EXAMPLE, PROCESS_EXAMPLE
from tests.tasks.conftest import Stack, drain


async def test_process_example_is_accepted_with_the_seed_shape(stack: Stack) -> None:
    """202 with status, job id, created_user, created_containers and accepted_at; the user
    and its container are real records, and the turn is in the container's session."""
    response = await stack.client.post("/v1/process", json=PROCESS_EXAMPLE)
    assert response.status_code == 202, response.text
    body = response.json()
    assert set(body) == {"status", "job_id", "created_user", "created_containers", "accepted_at"}
    assert body["status"] == "accepted"
    assert body["created_user"] is True
    assert body["created_containers"] == ["thread-abc"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}", body["accepted_at"])
    datetime.fromisoformat(body["accepted_at"])
    user = (await stack.client.get("/v1/users/user-123")).json()
    assert [(c["id"], c["type"]) for c in user["containers"]] == [("thread-abc", "thread")]
    session = (await stack.client.get("/v1/working-memory/thread-abc",
                                      params={"user_id": "user-123"})).json()
    assert [(m["id"], m["role"], m["content"]) for m in session["messages"]] == [
        ("msg-u-1", "user", "Remember that I prefer pytest over unittest."),
        ("msg-a-1", "assistant", "Understood. I'll keep that in mind."),
    ]
    job = (await stack.client.get(f"/v1/jobs/{body['job_id']}")).json()
    assert job["status"] == "queued"


async def test_ingestion_example_is_accepted_with_the_seed_shape(stack: Stack) -> None:
    """202 with job_id, active_fragment_ids, passive_job_id and usage {tokens_in,
    tokens_out}; the passive job runs on the worker and succeeds."""
    response = await stack.client.post("/ingestion/memory", json=INGESTION_EXAMPLE)
    assert response.status_code == 202, response.text
    body = response.json()
    assert set(body) == {"job_id", "active_fragment_ids", "passive_job_id", "usage"}
    assert re.fullmatch(r"[0-9a-f]{32}", body["job_id"])
    assert len(body["active_fragment_ids"]) == 2
    assert body["passive_job_id"] == body["job_id"]
    assert set(body["usage"]) == {"tokens_in", "tokens_out"}
    assert body["usage"]["tokens_in"] > 0 and body["usage"]["tokens_out"] == 0
    await drain(stack.docket)
    job = (await stack.client.get(f"/v1/jobs/{body['job_id']}")).json()
    assert job["status"] == "succeeded", job
    assert job["adjudicator"] == "rules"
    assert job["counts"]["added"] == 1
