"""The promotion schedule and its pending status built from templates: the same bytes as
Docket's and the model's own paths, and Docket's path when the format moves."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from docket import Docket, Execution

from agent_memory.models.tasks import TaskRecord, TaskStatus, TaskType
from agent_memory.storage.task_status import TaskStatusStore
from agent_memory.tasks import _schedule, _schedule_template
from agent_memory.tasks._schedule import task_command

TASK = "promote_session"


async def promote_session(identity: str) -> None:  # the registered stand-in
    return None


@pytest.fixture
async def docket(redis_url: str) -> AsyncIterator[Docket]:
    async with Docket(name=f"tpl-{uuid.uuid4().hex[:6]}", url=redis_url) as opened:
        opened.register(promote_session)
        yield opened


def _docket_made(docket: Docket, key: str, args: tuple[Any, ...], when: datetime,
                 replace: bool) -> tuple[Any, ...]:
    execution = Execution(docket, docket.tasks[TASK], args, {}, key, when, attempt=1,
                          function_name=TASK)
    return _schedule._docket_command(execution, replace)


@pytest.mark.parametrize("seconds", [0.5, 30.0, 86_400.0 * 400, -2.0])
@pytest.mark.parametrize("key,args", [
    ("promotion:ns:u:s", ("ns\x1fu\x1fs",)),
    ("promotion:" + "long-" * 80, ("é" * 200,)),
    ('q"uo\\te{}:%s', ("\n\t\x00", "second")),
    ("ключ", ()),
])
async def test_the_template_builds_dockets_command(docket: Docket, key: str,
                                                   args: tuple[str, ...], seconds: float) -> None:
    template = _schedule_template.checked_template(docket, TASK, _schedule._schedule,
                                                   _schedule._docket_command)
    assert template is not None
    when = datetime.now(UTC) + timedelta(seconds=seconds)
    for replace in (True, False):
        made = template.command(key, args, when, replace)
        assert made is not None
        command, runs_key, immediate = made
        assert command == _docket_made(docket, key, args, when, replace)
        assert runs_key == docket.runs_key(key) and immediate is (seconds < 0)


async def test_non_string_arguments_take_dockets_path(docket: Docket) -> None:
    make = task_command(docket, TASK, docket.url)
    assert make is not None
    when = datetime.now(UTC) + timedelta(seconds=5)
    made = make("k", (7, None), when=when, replace=True)
    assert made is not None and made.command == _docket_made(docket, "k", (7, None), when, True)


async def test_a_changed_docket_format_falls_back_to_dockets_path(
        docket: Docket, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pydocket whose command differs from the template (here: another worker group)
    gets its own command, not the template's."""
    original = Execution._schedule_script_args

    def moved(self: Execution, *args: Any, **kwargs: Any) -> tuple[dict[str, Any], bool]:
        script_args, immediate = original(self, *args, **kwargs)
        return {**script_args, "worker_group_name": "other-workers"}, immediate

    monkeypatch.setattr(Execution, "_schedule_script_args", moved)
    assert _schedule_template.checked_template(docket, TASK, _schedule._schedule,
                                               _schedule._docket_command) is None
    make = task_command(docket, TASK, docket.url)
    assert make is not None
    when = datetime.now(UTC) + timedelta(seconds=5)
    made = make("k", ("id",), when=when, replace=True)
    assert made is not None and "other-workers" in made.command
    assert made.command == _docket_made(docket, "k", ("id",), when, True)


def _model_command(task_id: str, task_type: TaskType, namespace: str | None,
                   user_id: str | None, created_at: datetime) -> tuple[str, ...]:
    return TaskStatusStore.put_command(TaskRecord(
        id=task_id, type=task_type, namespace=namespace, user_id=user_id,
        created_at=created_at, status=TaskStatus.pending))


@pytest.mark.parametrize("task_type", list(TaskType))
def test_the_pending_record_is_the_models_json_byte_for_byte(task_type: TaskType) -> None:
    every_ascii = "".join(map(chr, range(128)))
    times = [datetime(2026, 12, 6, 1, 2, 3, us, tzinfo=UTC) for us in (0, 1, 120_000, 999_999)]
    values = [("promotion-abc", "ns", "u"), ("t", None, None), (every_ascii, every_ascii, "x"),
              ('"quoted"\\', "a\u2028b", "ünïcode"), ("", "", "")]
    for created_at in times:
        for task_id, namespace, user_id in values:
            ours = TaskStatusStore.pending_command(task_id, task_type, namespace, user_id,
                                                   created_at)
            assert ours == _model_command(task_id, task_type, namespace, user_id, created_at)


def test_a_pending_record_not_in_utc_is_the_models_too() -> None:
    from datetime import timezone

    created_at = datetime(2026, 12, 6, 3, 2, 3, 5, tzinfo=timezone(timedelta(hours=2)))
    assert TaskStatusStore.pending_command("t", TaskType.promotion, "n", "u", created_at) == \
        _model_command("t", TaskType.promotion, "n", "u", created_at)
