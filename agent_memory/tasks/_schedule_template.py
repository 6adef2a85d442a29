"""Docket's schedule command for one task, with only the varying parts made per call.

``Execution._schedule_script_args`` and the script wrapper's encoding build the whole
``_schedule`` EVALSHA anew on every call: a dozen key helpers, cloudpickle's pickler, the
state payload's json and the encoding of sixteen slots (some 25 µs warm, several times
that on a request after an idle pause). Of that command only the task key, the time, the
pickled positional arguments and the state payload vary for one task; a
:class:`ScheduleTemplate` holds the rest and formats those four.

The command is Docket's private format, so :func:`checked_template` builds a template only
when it reproduces, byte for byte, what Docket's own path builds for sample calls (future
and past times, long, odd and non-ASCII keys and arguments): a pydocket release that
changes the format then leaves callers on Docket's path instead of queueing commands its
workers would misread.
"""

from __future__ import annotations

import json
import logging
import pickle
from datetime import UTC, datetime, timedelta
from itertools import chain
from typing import Any

from docket import Docket, Execution
from opentelemetry import propagate

log = logging.getLogger(__name__)

try:
    from docket.instrumentation import message_setter
except ImportError:  # pragma: no cover - another pydocket layout: no template
    message_setter = None

# Samples the template must reproduce before it is used: (key, args, seconds from now).
_SAMPLES: tuple[tuple[str, tuple[str, ...], float], ...] = (
    ("promotion:ns:user:session", ("ns\x1fuser\x1fsession",), 30.0),
    ("k" * 300, ("x" * 300,), 5.0),
    ("clé \"odd\" \\ {key}", ("é\x00\n", ""), 3600.0),
    ("past", ("due",), -5.0),  # already due: Docket puts it straight on the stream
)


class ScheduleTemplate:
    """``_schedule``'s EVALSHA for one task, with positional ``str`` arguments only, no
    keyword arguments, first attempt, generation 0 (what ``docket.add``/``replace`` of a
    new execution send)."""

    def __init__(self, docket: Docket, task: str, sha: str) -> None:
        self._prefix = docket.key("")  # "<docket prefix>:"
        self._head = ("EVALSHA", sha, 7, docket.stream_key)
        self._queue = docket.queue_key
        self._group = docket.worker_group_name
        self._function = task.encode()
        # Docket's own pickle of no keyword arguments; positional ones at the protocol
        # cloudpickle uses by default (the check below proves both).
        self._kwargs = Execution(docket, docket.tasks[task], (), {}, "", datetime.now(UTC),
                                 attempt=1, function_name=task).as_message()[b"kwargs"]
        self._protocol = pickle.HIGHEST_PROTOCOL

    def command(self, key: str, args: tuple[Any, ...], when: datetime,
                replace: bool) -> tuple[tuple[Any, ...], str, bool] | None:
        """``(command, runs key, immediate)``; ``None`` for arguments the template was not
        checked with (anything but ``str``)."""
        if not all(type(arg) is str for arg in args):
            return None
        iso = when.isoformat()
        immediate = when <= datetime.now(UTC)
        message = {b"key": key.encode(), b"when": iso.encode(), b"function": self._function,
                   b"args": pickle.dumps(args, self._protocol), b"kwargs": self._kwargs,
                   b"attempt": b"1", b"generation": b"0"}
        propagate.inject(message, setter=message_setter)  # a trace context, when there is one
        payload = (f'{{"type": "state", "key": {json.dumps(key)}, "state": '
                   f'"{"queued" if immediate else "scheduled"}", "when": "{iso}"}}')
        p = self._prefix
        runs = f"{p}runs:{key}"
        return ((*self._head, f"{p}known:{key}", f"{p}{key}", self._queue,
                 f"{p}stream-id:{key}", runs, f"{p}state:{key}", key, str(when.timestamp()),
                 "1" if immediate else "0", "1" if replace else "0", b"", "0", self._group,
                 payload, *chain.from_iterable(message.items())), runs, immediate)


def checked_template(docket: Docket, task: str, script: Any,
                     docket_command: Any) -> ScheduleTemplate | None:
    """A template for ``task`` when it builds exactly Docket's commands for the samples,
    else ``None`` (logged). ``docket_command(execution, replace)``: Docket's own command."""
    if message_setter is None:
        return None
    try:
        template = ScheduleTemplate(docket, task, script.sha)
        function = docket.tasks[task]
        now = datetime.now(UTC)
        for key, args, seconds in _SAMPLES:
            when = now + timedelta(seconds=seconds)
            for replace in (True, False):
                execution = Execution(docket, function, args, {}, key, when, attempt=1,
                                      function_name=task)
                made = template.command(key, args, when, replace)
                if made is None or made[0] != docket_command(execution, replace):
                    log.warning("Docket's schedule command changed form: %s is scheduled "
                                "through Docket's general path", task)
                    return None
    except Exception:  # noqa: BLE001 - any surprise in Docket's internals: its own path
        log.warning("could not check the schedule template of %s", task, exc_info=True)
        return None
    return template
