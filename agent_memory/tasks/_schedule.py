"""A Docket ``add`` as one command that rides in a batch of our own.

``docket.add(...)(...)`` is one Lua script call, but it goes through redis-py (a pooled
connection, some 0.3 ms of client CPU) and costs the caller a round trip of its own. The
ingestion request path instead sends that same script, with the arguments Docket itself
builds, in the batch that also changes the job's status (``JobStore.queue``): one round
trip on the shared connection (storage/mux.py).

This leans on Docket internals (``Execution._schedule_script_args``, the ``_schedule``
script, the strike check and the scheduling counters); the command itself comes from a
per-task template checked against Docket's own output at start-up
(``tasks/_schedule_template.py``), or from Docket when the check fails.
:func:`task_command` returns ``None`` when they are not there (another pydocket version)
or when the Docket lives in another Redis than ours; callers then fall back to
``docket.add``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from docket import Docket, Execution

from agent_memory.services.ingestion import TaskCommand
from agent_memory.tasks._schedule_template import checked_template

log = logging.getLogger(__name__)

try:
    from docket._execution_scripts import _schedule
except ImportError:  # pragma: no cover - another pydocket layout: use docket.add
    _schedule = None


class _Recorder:
    """Stands in for a redis-py pipeline: keeps the one EVALSHA Docket queues on it."""

    command: tuple[Any, ...] = ()

    def evalsha(self, *args: Any) -> None:
        self.command = ("EVALSHA", *args)


def _docket_command(execution: Execution, replace: bool,
                    script_args: dict[str, Any] | None = None) -> tuple[Any, ...]:
    """The EVALSHA Docket itself builds for ``execution``."""
    assert _schedule is not None
    if script_args is None:
        script_args = execution._schedule_script_args(replace)[0]
    recorder = _Recorder()
    _schedule.enqueue(recorder, **script_args)  # type: ignore[arg-type]
    return recorder.command


def _usable(docket: Docket, redis_url: str) -> bool:
    return (_schedule is not None and getattr(docket, "url", None) == redis_url
            and all(hasattr(obj, name) for obj, name in (
                (Execution, "_schedule_script_args"), (Execution, "_apply_schedule_reply"),
                (docket, "_check_stricken"),
                (docket, "_record_schedule_metrics"), (_schedule, "enqueue"),
                (_schedule, "lua"))))


def _may_strike(docket: Docket) -> bool:
    """False only when the strike list certainly has no rule (its check binds the task's
    signature to the arguments: some 50 µs per add for nothing)."""
    try:
        strikes = docket.strike_list
        return bool(strikes.task_strikes or strikes.parameter_strikes
                    or len(strikes._conditions) > 1)
    except AttributeError:  # pragma: no cover - another pydocket: always check
        return True


def task_command(docket: Docket, task: str, redis_url: str
                 ) -> Callable[..., TaskCommand | None] | None:
    """A maker of ``add(task, key=key)(*args)`` commands for ``docket`` (``None``: not
    possible here, use ``docket.add``): ``make(key, args, when=None, replace=False)``;
    with ``replace`` it is ``replace(task, when=when, key=key)(*args)`` instead (a pending
    run with the key moves to ``when``). The maker returns ``None`` for a stricken task
    (nothing to send, as ``add`` would send nothing)."""
    if not _usable(docket, redis_url):
        log.info("Docket tasks are enqueued with docket.add (no batched form here)")
        return None
    function = docket.tasks[task]
    assert _schedule is not None
    script = _schedule
    template = checked_template(docket, task, script, _docket_command)

    def make(key: str, args: tuple[Any, ...], when: datetime | None = None,
             replace: bool = False) -> TaskCommand | None:
        execution = Execution(docket, function, args, {}, key, when or datetime.now(UTC),
                              attempt=1, function_name=task)
        if _may_strike(docket) and docket._check_stricken(execution):
            return None
        made = template.command(key, args, execution.when, replace) if template else None
        if made is None:
            script_args, immediate = execution._schedule_script_args(replace)
            made = (_docket_command(execution, replace, script_args), script_args["runs_key"],
                    immediate)
        command, runs_key, immediate = made

        def scheduled(reply: Any) -> None:  # what add does with the script's reply
            execution._apply_schedule_reply(reply, immediate)
            docket._record_schedule_metrics(execution, replace=replace)

        return TaskCommand(command, script.lua, runs_key, scheduled)

    return make
