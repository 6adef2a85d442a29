"""A token for org A can neither write to nor read from org B through these doors."""

from __future__ import annotations

import copy

import httpx

from tests.auth.conftest import IssueToken, bearer
from tests.ingestion.conftest import INGESTION_EXAMPLE, PROCESS_EXAMPLE


def _ingest(org: str, user: str | None = None) -> dict[str, object]:
    body = copy.deepcopy(INGESTION_EXAMPLE)
    body["scope"] = {"org_id": org, "session_id": "chat-1", **({"user_id": user} if user else {})}
    return body


async def test_org_bound_token_stays_in_its_org(token_client: httpx.AsyncClient,
                                                issue: IssueToken) -> None:
    """Writes name the token's org or are refused (403, nothing written); jobs, users and
    sessions of the other org answer 404 or stay invisible."""
    a = bearer(await issue(namespaces=["org-a"]))
    b = bearer(await issue(namespaces=["org-b"]))
    mine = await token_client.post("/ingestion/memory", json=_ingest("org-a", "u1"), headers=a)
    assert mine.status_code == 202, mine.text
    theirs = await token_client.post("/ingestion/memory", json=_ingest("org-b", "u1"), headers=b)
    assert theirs.status_code == 202
    refused = await token_client.post("/ingestion/memory", json=_ingest("org-b", "u1"), headers=a)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    job_b = theirs.json()["job_id"]
    assert (await token_client.get(f"/v1/jobs/{job_b}", headers=a)).status_code == 404
    assert (await token_client.get(f"/v1/jobs/{job_b}", headers=b)).status_code == 200
    assert (await token_client.get(f"/v1/tasks/{job_b}", headers=a)).status_code == 404
    assert (await token_client.get("/v1/users/u1", headers=a)).json()["namespace"] == "org-a"
    assert (await token_client.get("/v1/users/u1", params={"namespace": "org-b"},
                                   headers=a)).status_code == 403
    assert (await token_client.get("/v1/users", headers=a)).json() == {"users": ["u1"], "total": 1}
    # /v1/process writes into the token's namespace; another one is refused.
    done = await token_client.post("/v1/process", json=PROCESS_EXAMPLE, headers=a)
    assert done.status_code == 202
    assert (await token_client.post("/v1/process", params={"namespace": "org-b"},
                                    json=PROCESS_EXAMPLE, headers=a)).status_code == 403
    assert (await token_client.get(f"/v1/jobs/{done.json()['job_id']}", headers=b)).status_code == 404
    assert (await token_client.get("/v1/users/user-123", headers=b)).status_code == 404
    session = await token_client.get("/v1/working-memory/thread-abc",
                                     params={"user_id": "user-123"}, headers=b)
    assert session.status_code == 404
    # A search of org B's token finds only org B's fragments.
    found = await token_client.post("/v1/long-term-memory/search", json={"text": "shellfish"},
                                    headers=b)
    assert {m["namespace"] for m in found.json()["memories"]} == {"org-b"}


async def test_user_bound_token_writes_only_for_its_user(token_client: httpx.AsyncClient,
                                                         issue: IssueToken) -> None:
    """scope.user_id defaults to the token's user; another user is a 403."""
    token = bearer(await issue(namespaces=["org-a"], user_id="alice"))
    response = await token_client.post("/ingestion/memory", json=_ingest("org-a"), headers=token)
    assert response.status_code == 202
    assert (await token_client.get("/v1/users/alice", headers=token)).status_code == 200
    assert (await token_client.post("/ingestion/memory", json=_ingest("org-a", "bob"),
                                    headers=token)).status_code == 403
    body = copy.deepcopy(PROCESS_EXAMPLE)
    assert (await token_client.post("/v1/process", json=body, headers=token)).status_code == 403
    assert (await token_client.get("/v1/users/bob", headers=token)).status_code == 404
