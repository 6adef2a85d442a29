"""The audit trail through its doors: every deletion path, tenant bounds, the CLI."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from agent_memory.auth import issue_token
from agent_memory.cli import main
from agent_memory.storage.auth_tokens import TokenStore
from tests.tasks.conftest import Stack, drain, open_stack, task_settings

SECRET_TEXT = "qq-secret-text-zz"


def _h(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def _events(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    res = await client.get("/v1/audit", params=params)
    assert res.status_code == 200, res.text
    return res.json()["events"]  # type: ignore[no-any-return]


async def test_every_deletion_path_leaves_one_event_without_content(stack: Stack) -> None:
    """DELETE by id, DELETE by list, forget, a forgetting pass, compaction and restore
    each leave exactly one event (method, ids, counts), and no event holds memory text."""
    c = stack.client
    records = [{"id": f"d{i}", "text": f"{SECRET_TEXT} number {i}", "namespace": "n"}
               for i in range(5)]
    records += [{"id": "dup1", "text": f"{SECRET_TEXT} twice", "namespace": "n",
                 "created_at": "2026-01-01T00:00:00Z"},
                {"id": "dup2", "text": f"{SECRET_TEXT} twice", "namespace": "n",
                 "created_at": "2026-01-02T00:00:00Z"},
                {"id": "old", "text": f"{SECRET_TEXT} ancient", "namespace": "n",
                 "created_at": "2020-01-01T00:00:00Z", "last_accessed": "2020-01-01T00:00:00Z"}]
    assert (await c.post("/v1/long-term-memory/", json={"memories": records,
                                                         "deduplicate": False})).status_code == 200
    assert (await c.delete("/v1/long-term-memory/d0")).status_code == 200
    await c.delete("/v1/long-term-memory", params={"memory_ids": ["d1", "d2"]})
    await c.post("/v1/memories/forget", json={"memory_ids": ["d3"], "reason": "stale"})
    res = await c.post("/v1/long-term-memory/forget", params={"dry_run": "false",
                                                              "namespace": "n"},
                       json={"policy": {"max_age_days": 365}})
    assert res.json()["deleted_ids"] == ["old"], res.text
    await c.post("/v1/long-term-memory/compact", params={"namespace": "n"})
    await c.post("/v1/memories/d3/restore")
    await c.put("/v1/working-memory/sess", json={"namespace": "n", "messages": [
        {"role": "user", "content": SECRET_TEXT}]})
    assert (await c.delete("/v1/working-memory/sess",
                           params={"namespace": "n"})).status_code == 200
    events = await _events(c, namespace="n")
    summary = [(e["action"], e["method"], e["ids"], e.get("counts")) for e in events]
    assert summary == [
        ("memory.delete", "api_delete", ["d0"], {"deleted": 1}),
        ("memory.delete", "api_delete", ["d1", "d2"], {"deleted": 2}),
        ("memory.forget", "user_request", ["d3"], {"deleted": 1}),
        ("memory.delete", "policy", ["old"], {"deleted": 1}),
        ("memory.delete", "policy", ["dup2"], {"deleted": 1}),
        ("memory.restore", None, ["d3"], {"restored": 1}),
        ("session.delete", "api_delete", ["sess"], {"sessions": 1}),
    ]
    assert all(e["subject"] == "local-dev-user" for e in events)
    assert SECRET_TEXT not in json.dumps(events)


@pytest.fixture
async def token_stack(redis_url: str, redis: Redis) -> AsyncIterator[Stack]:
    async with open_stack(task_settings(redis_url, auth_mode="token")) as running:
        yield running


async def test_bound_token_sees_only_its_tenant(token_stack: Stack, redis: Redis) -> None:
    """A namespace-bound token lists only its namespace's events and cannot ask for
    another's (403); an admin sees all; the cursor pages; time filters bound the range."""
    store = TokenStore(redis)
    admin, _ = await issue_token(store, description="admin", admin=True)
    team_a, _ = await issue_token(store, description="a", namespaces=["a"])
    c = token_stack.client
    for ns in ("a", "b"):
        await c.post("/v1/long-term-memory/", headers=_h(admin), json={"memories": [
            {"id": f"{ns}{i}", "text": f"fact {i}", "namespace": ns} for i in range(3)]})
        for i in range(3):
            res = await c.post("/v1/memories/forget", headers=_h(admin),
                               json={"memory_ids": [f"{ns}{i}"]})
            assert res.json()["forgotten"] == [f"{ns}{i}"]
    # A bound token cannot forget another tenant's memory: it is "not found".
    res = await c.post("/v1/memories/forget", headers=_h(team_a), json={"memory_ids": ["b0"]})
    assert res.json()["not_found"] == ["b0"]

    mine = (await c.get("/v1/audit", headers=_h(team_a))).json()
    assert {e["namespace"] for e in mine["events"]} == {"a"} and len(mine["events"]) == 3
    assert (await c.get("/v1/audit", headers=_h(team_a),
                        params={"namespace": "b"})).status_code == 403
    assert (await c.get("/v1/audit")).status_code == 401
    everything = (await c.get("/v1/audit", headers=_h(admin))).json()["events"]
    assert len(everything) == 6
    page1 = (await c.get("/v1/audit", headers=_h(admin), params={"limit": 4})).json()
    page2 = (await c.get("/v1/audit", headers=_h(admin),
                         params={"limit": 4, "cursor": page1["next_cursor"]})).json()
    assert [e["id"] for e in page1["events"] + page2["events"]] == [e["id"] for e in everything]
    assert page2["next_cursor"] is None
    since = everything[3]["at"]
    later = (await c.get("/v1/audit", headers=_h(admin), params={"since": since})).json()
    assert {e["id"] for e in later["events"]} >= {e["id"] for e in everything[4:]}
    bad = await c.get("/v1/audit", headers=_h(admin), params={"since": "yesterday"})
    assert bad.status_code == 422
    ancient = await c.get("/v1/audit", headers=_h(admin),
                          params={"until": "0218-08-25T06:27:35Z", "since": "0001-01-01T00:00Z"})
    assert ancient.status_code == 200 and ancient.json()["events"] == []
    early = await c.get("/v1/audit", headers=_h(admin), params={"since": "0001-01-01T00:00Z"})
    assert len(early.json()["events"]) == 6


async def test_erase_bounds(token_stack: Stack, redis: Redis) -> None:
    """Erase: a namespace-bound token erases within its namespace only; a user-bound token
    only itself; a bound token never reads another tenant's erase task."""
    store = TokenStore(redis)
    team_a, _ = await issue_token(store, description="a", namespaces=["a"])
    self_only, _ = await issue_token(store, description="u", namespaces=["a"], user_id="me")
    c = token_stack.client
    assert (await c.post("/v1/users/x/erase", headers=_h(team_a),
                         json={"namespace": "b"})).status_code == 403
    assert (await c.post("/v1/users/x/erase", headers=_h(self_only))).status_code == 403
    res = await c.post("/v1/users/x/erase", headers=_h(team_a))
    assert res.status_code == 202 and res.json()["namespace"] == "a"
    bad = await c.post("/v1/users/x/erase", headers=_h(team_a), json={"nope": 1})
    assert bad.status_code == 422
    mine = await c.post("/v1/users/me/erase", headers=_h(self_only))
    assert mine.status_code == 202
    await drain(token_stack.docket)
    task = res.json()["task_id"]
    assert (await c.get(f"/v1/users/x/erase/{task}", headers=_h(self_only))).status_code == 404
    done = (await c.get(f"/v1/users/x/erase/{task}", headers=_h(team_a))).json()
    assert done["status"] == "success" and done["result"]["aof"] == "aof_off"
    assert (await c.get(f"/v1/tasks/{task}", headers=_h(team_a))).json()["type"] == "erase"


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, redis_url: str, redis: Redis,
        capsys: pytest.CaptureFixture[str]):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("REDIS_URL", redis_url)

    def run(*argv: str) -> str:
        capsys.readouterr()
        main(list(argv))
        return capsys.readouterr().out

    return run


def test_cli_prints_token_changes(cli) -> None:  # type: ignore[no-untyped-def]
    """Token add and remove are audit events; ``agent-memory audit`` prints them, filters
    by action, and pages as JSON with the route's shape; never a token secret."""
    added = json.loads(cli("token", "add", "-d", "bot", "-n", "team", "--format", "json"))
    cli("token", "remove", added["id"][:12])
    text = cli("audit")
    lines = text.strip().splitlines()
    assert [line.split("  ")[1] for line in lines] == ["token.add", "token.remove"]
    assert "namespace=team" in lines[0] and "by=cli" in lines[0]
    assert added["token"] not in text
    page = json.loads(cli("audit", "--action", "token.remove", "--format", "json"))
    assert [e["action"] for e in page["events"]] == ["token.remove"]
    assert page["events"][0]["ids"] == [added["id"][:16]]
    first = json.loads(cli("audit", "--limit", "1", "--format", "json"))
    assert first["next_cursor"] is not None
    with pytest.raises(SystemExit):
        cli("audit", "--since", "not a time")
