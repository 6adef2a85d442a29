"""CLI conveniences: every option explained in --help, the progress line, JSONL import."""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from agent_memory.cli import build_parser
from agent_memory.importer import ImportFailed, import_jsonl
from agent_memory.progress import Progress
from agent_memory.settings import Settings


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def test_every_option_of_every_command_has_help() -> None:
    """No option or sub-command is left without an explanation in --help."""
    parser = build_parser()
    pending = [("agent-memory", parser)]
    missing = []
    while pending:
        name, current = pending.pop()
        for action in current._actions:
            if isinstance(action, argparse._SubParsersAction):
                for choice in action._choices_actions:
                    if not choice.help:
                        missing.append(f"{name} {choice.dest}")
                pending += [(f"{name} {n}", p) for n, p in action.choices.items()]
            elif not action.help or action.help == argparse.SUPPRESS:
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
    assert not missing, missing
    assert "import" in _subparsers(parser)


def test_help_runs_as_a_command() -> None:
    """``agent-memory import --help`` prints its description and exits 0."""
    out = subprocess.run([sys.executable, "-m", "agent_memory", "import", "--help"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "JSONL" in out.stdout and "--skip-invalid" in out.stdout


def test_progress_line_off_a_terminal() -> None:
    """Off a tty: full lines, counts, percent and a final 100 % line; never over 100 %."""
    out = io.StringIO()
    with Progress(4, label="importing", stream=out, every=0) as progress:
        progress.update(1)
        progress.update(3)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("importing [") and "1/4" in lines[0] and "25.0%" in lines[0]
    assert "4/4" in lines[-1] and "100.0%" in lines[-1] and "\r" not in out.getvalue()
    empty = io.StringIO()
    Progress(0, stream=empty, every=0).update(0)
    assert "100.0%" in empty.getvalue()


def _write(path: Path, rows: list[object]) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


async def test_import_stores_every_line_through_the_long_term_service(
        settings: Settings, client: httpx.AsyncClient, tmp_path: Path) -> None:
    """Records land in batches, readable through the API, with the override applied."""
    rows: list[object] = [{"id": f"m{i}", "text": f"fact number {i} about apples",
                           "topics": ["fruit"]} for i in range(7)]
    rows.insert(3, "")  # blank lines are skipped
    path = _write(tmp_path / "memories.jsonl", rows)
    out = io.StringIO()
    report = await import_jsonl(settings, path, batch_size=3, namespace="imported", stream=out)
    assert (report.read, report.stored, report.skipped) == (7, 7, [])
    assert "7/7" in out.getvalue()
    got = await client.get("/v1/long-term-memory/m4")
    assert got.status_code == 200
    assert got.json()["namespace"] == "imported" and got.json()["memory_type"] == "semantic"
    found = await client.post("/v1/long-term-memory/search", json={
        "text": "apples", "namespace": {"eq": "imported"}, "limit": 100})
    assert found.json()["total"] == 7


async def test_an_invalid_line_stops_the_import_before_any_write(
        settings: Settings, client: httpx.AsyncClient, tmp_path: Path) -> None:
    """Without --skip-invalid nothing is written and the error names the line."""
    path = _write(tmp_path / "bad.jsonl", [{"id": "ok1", "text": "fine"}, {"id": "no-text"},
                                           "not json", {"id": "ok2", "text": "also fine"}])
    with pytest.raises(ImportFailed, match=r"bad.jsonl:2: text"):
        await import_jsonl(settings, path, stream=io.StringIO())
    assert (await client.get("/v1/long-term-memory/ok1")).status_code == 404
    report = await import_jsonl(settings, path, skip_invalid=True, stream=io.StringIO())
    assert report.stored == 2 and len(report.skipped) == 2
    assert report.skipped[0].startswith("line 2:") and report.skipped[1].startswith("line 3:")
    assert (await client.get("/v1/long-term-memory/ok2")).status_code == 200


async def test_import_counts_every_skipped_line_and_why(
        settings: Settings, client: httpx.AsyncClient, tmp_path: Path) -> None:
    """Lines stored under another id (the service's answer) are duplicates, by content hash
    or by nearness; an id repeated later in the file is replaced; invalid lines are counted;
    only lines whose own record is stored count as imported (issue 12)."""
    before = await client.post("/v1/long-term-memory/", json={"memories": [
        {"id": "old", "text": "Pat owns a red bicycle", "namespace": "imp"}]})
    assert before.status_code == 200
    path = _write(tmp_path / "dups.jsonl", [
        {"id": "a", "text": "Pat likes green tea"},
        {"id": "b", "text": "Pat likes green tea"},  # same content as line 1
        {"id": "c", "text": "Pat owns a red bicycle"},  # same content as a stored memory
        {"id": "d", "text": "Pat lives in Lisbon"},
        {"id": "e", "text": "pat lives in lisbon!"},  # same words: a near-duplicate of d
        {"id": "f", "text": "first version of f"},
        "not json",
        {"id": "f", "text": "Pat works as a nurse"},  # replaces line 6
        {"id": "g", "text": "Pat has two cats"},
    ])
    report = await import_jsonl(settings, path, batch_size=4, namespace="imp",
                                skip_invalid=True, stream=io.StringIO())
    assert report.read == 9
    assert report.stored == 4  # a, d, f (line 8), g
    assert dict(report.reasons) == {"duplicate": 2, "near-duplicate": 1, "repeated id": 1,
                                    "invalid": 1}
    assert report.summary() == ("5 skipped: 2 duplicate, 1 near-duplicate, 1 repeated id, "
                                "1 invalid")
    details = sorted(report.skipped)
    assert "line 2: duplicate of memory a (same content)" in details
    assert "line 3: duplicate of memory old (same content)" in details
    assert "line 5: near-duplicate of memory d" in details
    assert any(d.startswith("line 6: id 'f' comes again on line 8") for d in details)
    assert any(d.startswith("line 7:") for d in details)
    for memory_id, status in (("a", 200), ("b", 404), ("c", 404), ("d", 200), ("e", 404),
                              ("g", 200)):
        assert (await client.get(f"/v1/long-term-memory/{memory_id}")).status_code == status
    assert (await client.get("/v1/long-term-memory/f")).json()["text"] == "Pat works as a nurse"

    again = await import_jsonl(settings, path, namespace="imp", skip_invalid=True,
                               deduplicate=False, stream=io.StringIO())
    assert again.stored == 7 and dict(again.reasons) == {"repeated id": 1, "invalid": 1}


async def test_forget_previews_as_a_table_and_deletes_only_with_apply(
        settings: Settings, client: httpx.AsyncClient) -> None:
    """``agent-memory forget``: the dry run lists the old memories and deletes nothing;
    --apply deletes exactly those; pinned ids and recent memories stay."""
    from datetime import UTC, datetime, timedelta

    from agent_memory.forget_cli import forget, render
    from agent_memory.models.tasks import ForgetPolicy
    from agent_memory.services.forgetting import ForgetScope

    old = (datetime.now(UTC) - timedelta(days=400)).isoformat()
    memories = [{"id": f"old{i}", "text": f"stale note {i}", "namespace": "ns",
                 "created_at": old, "last_accessed": old} for i in range(3)]
    memories.append({"id": "fresh", "text": "new note", "namespace": "ns"})
    created = await client.post("/v1/long-term-memory/",
                                json={"memories": memories, "deduplicate": False})
    assert created.status_code == 200
    policy, scope = ForgetPolicy(max_age_days=30), ForgetScope(namespace="ns")

    preview = await forget(settings, policy, scope, pinned_ids=["old2"], stream=io.StringIO())
    assert sorted(preview.selected) == ["old0", "old1"] and preview.scanned == 4
    table = render(preview, apply=False)
    assert "stale note 0" in table and "dry run: would delete 2 of 4" in table
    assert (await client.get("/v1/long-term-memory/old0")).status_code == 200

    applied = await forget(settings, policy, scope, pinned_ids=["old2"], apply=True,
                           stream=io.StringIO())
    assert applied.deleted == 2 and "deleted 2 of 4" in render(applied, apply=True)
    for memory_id, status in (("old0", 404), ("old1", 404), ("old2", 200), ("fresh", 200)):
        assert (await client.get(f"/v1/long-term-memory/{memory_id}")).status_code == status


def test_format_table_aligns_and_cuts_cells() -> None:
    """Cells are one line, cut with an ellipsis; columns line up."""
    from agent_memory.progress import format_table

    text = format_table(("id", "text"), [("a", "two\nlines"), ("bb", "x" * 80)], max_width=10)
    lines = text.splitlines()
    assert lines[0] == "id  text" and lines[2] == "a   two lines"
    assert lines[3] == "bb  xxxxxxxxx…"


def test_import_then_forget_as_commands(redis_url: str, redis: object, tmp_path: Path) -> None:
    """The real commands, configured by environment as deployed: import a file, preview a
    forget (nothing deleted), apply it."""
    import os

    env = {**os.environ, "REDIS_URL": redis_url, "EMBEDDING_PROVIDER": "hashing",
           "OPENAI_API_KEY": "", "OPENAI_API_BASE": ""}
    env = {k: v for k, v in env.items() if v != ""}
    path = _write(tmp_path / "m.jsonl", [
        {"id": "a", "text": "old fact", "created_at": "2020-01-01T00:00:00Z",
         "last_accessed": "2020-01-01T00:00:00Z"},
        {"id": "b", "text": "new fact"}])

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "agent_memory", *args], env=env,
                              capture_output=True, text=True, timeout=120)

    imported = run("import", str(path))
    assert imported.returncode == 0, imported.stderr
    assert "imported 2 of 2 lines" in imported.stdout and "2/2" in imported.stderr
    preview = run("forget", "--max-age-days", "365")
    assert preview.returncode == 0, preview.stderr
    assert "old fact" in preview.stdout and "would delete 1 of 2" in preview.stdout
    applied = run("forget", "--max-age-days", "365", "--apply")
    assert "deleted 1 of 2" in applied.stdout, applied.stderr
    assert "would delete 0 of 1" in run("forget", "--max-age-days", "365").stdout


def test_import_command_prints_what_it_skipped(redis_url: str, redis: object,
                                               tmp_path: Path) -> None:
    """The command's summary line counts the skipped lines by reason, and lists them."""
    import os

    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENAI_API_KEY", "OPENAI_API_BASE")}
    env.update(REDIS_URL=redis_url, EMBEDDING_PROVIDER="hashing")
    rows: list[object] = [{"id": f"n{i}", "text": f"note {i} about pears and plums"}
                          for i in range(4)]
    rows += [{"id": "dup", "text": "note 2 about pears and plums"}, "{broken"]
    path = _write(tmp_path / "cmd.jsonl", rows)
    done = subprocess.run([sys.executable, "-m", "agent_memory", "import", "--skip-invalid",
                           str(path)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "imported 4 of 6 lines" in done.stdout
    assert "(2 skipped: 1 duplicate, 1 invalid; --no-dedup keeps duplicates)" in done.stdout
    assert "skipped line 5: duplicate of memory n2 (same content)" in done.stderr
    assert "skipped line 6:" in done.stderr
