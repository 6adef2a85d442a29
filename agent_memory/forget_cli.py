"""``agent-memory forget``: preview, then apply, a forgetting policy from the command line.

The same selection as ``POST /v1/long-term-memory/forget`` (the forgetting service: age,
inactivity, budget, type allowlist, pinned records never deleted), over one scope. By
default it is a dry run: it prints a table of the memories the policy would delete and
deletes nothing. ``--apply`` deletes exactly the memories that were listed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from pydantic import ValidationError

from agent_memory.models.records import MemoryRecord
from agent_memory.models.tasks import ForgetPolicy
from agent_memory.progress import Progress, format_table
from agent_memory.services.forgetting import ForgetScope, ForgettingService
from agent_memory.settings import Settings
from agent_memory.storage.filters import and_all, tag_in

DELETE_BATCH = 500


@dataclass
class ForgetOutcome:
    """What one run found and did."""

    scanned: int
    selected: list[str]
    shown: list[MemoryRecord] = field(default_factory=list)
    deleted: int = 0


class _CountingScope:
    """The long-term service as forgetting sees it, advancing a progress line per batch."""

    def __init__(self, long_term: Any, progress: Progress) -> None:
        self.long_term, self.progress = long_term, progress

    async def iter_scope(self, namespace: str | None, user_id: str | None,
                         session_id: str | None, batch: int, damaged: list[str] | None = None
                         ) -> AsyncIterator[list[MemoryRecord]]:
        async for records in self.long_term.iter_scope(namespace, user_id, session_id, batch,
                                                       damaged):
            self.progress.update(len(records))
            yield records

    async def delete_ids(self, ids: list[str]) -> int:
        raise RuntimeError("the preview pass never deletes")


async def forget(settings: Settings, policy: ForgetPolicy, scope: ForgetScope, *,
                 pinned_ids: Sequence[str] = (), limit: int | None = None, apply: bool = False,
                 show: int = 20, stream: TextIO | None = None) -> ForgetOutcome:
    """Select with ``policy`` over ``scope``; delete the selection only when ``apply``."""
    from agent_memory.services.container import build_services

    services = await build_services(settings.model_copy(update={"use_docket": False}))
    try:
        long_term = getattr(services, "long_term", None)
        if long_term is None:
            raise SystemExit("agent-memory forget: long-term memory is disabled")
        where = and_all([tag_in(name, [value]) for name, value in (
            ("namespace", scope.namespace), ("user_id", scope.user_id),
            ("session_id", scope.session_id)) if value is not None])
        total = await long_term.store.count(where)
        with Progress(total, label="scanning", stream=stream) as progress:
            preview = await ForgettingService(_CountingScope(long_term, progress)).forget(
                policy, scope, pinned_ids=pinned_ids, limit=limit, dry_run=True)
        ids = preview.deleted_ids
        shown = [r for r in await long_term.store.get_many(ids[:show]) if r is not None]
        outcome = ForgetOutcome(scanned=preview.scanned, selected=ids, shown=shown)
        if apply and ids:
            with Progress(len(ids), label="deleting", stream=stream) as progress:
                for start in range(0, len(ids), DELETE_BATCH):
                    chunk = ids[start:start + DELETE_BATCH]
                    outcome.deleted += await long_term.delete_ids(chunk)
                    progress.update(len(chunk))
        return outcome
    finally:
        await services.aclose()


def render(outcome: ForgetOutcome, apply: bool) -> str:
    """The table of selected memories and a one-line summary."""
    rows = [(r.id, r.memory_type.value if hasattr(r.memory_type, "value") else r.memory_type,
             r.created_at.date(), r.last_accessed.date(), r.namespace, r.text)
            for r in outcome.shown]
    parts = []
    if rows:
        parts.append(format_table(("id", "type", "created", "accessed", "namespace", "text"),
                                  rows, max_width=48))
        if len(outcome.selected) > len(rows):
            parts.append(f"... and {len(outcome.selected) - len(rows)} more")
    if apply:
        parts.append(f"deleted {outcome.deleted} of {outcome.scanned} memories scanned")
    else:
        parts.append(f"dry run: would delete {len(outcome.selected)} of {outcome.scanned} "
                     "memories scanned (run again with --apply to delete them)")
    return "\n".join(parts)


def register(sub: Any) -> None:
    """Add ``forget`` to the top-level sub-parsers."""
    cmd = sub.add_parser(
        "forget", help="preview (default) or apply a forgetting policy",
        description="Select long-term memories with a forgetting policy (as POST "
        "/v1/long-term-memory/forget) and print them as a table. Nothing is deleted unless "
        "--apply is given; pinned memories are never deleted.")
    cmd.add_argument("--max-age-days", type=float, help="forget memories older than this")
    cmd.add_argument("--max-inactive-days", type=float,
                     help="forget memories not accessed for this long (with --max-age-days: "
                     "only those also older than it)")
    cmd.add_argument("--budget", type=int, help="keep only the N most recent memories")
    cmd.add_argument("--type", dest="types", action="append", default=None,
                     choices=("episodic", "semantic", "message"),
                     help="only forget memories of this type (repeatable)")
    cmd.add_argument("--hard-age-multiplier", type=float, default=12.0,
                     help="forget anything older than max-age-days times this, active or not "
                     "(default 12)")
    cmd.add_argument("--namespace", help="only this namespace")
    cmd.add_argument("--user-id", dest="user_id", help="only this user's memories")
    cmd.add_argument("--session-id", dest="session_id", help="only this session's memories")
    cmd.add_argument("--pin", dest="pinned", action="append", default=[],
                     help="never forget this memory id (repeatable)")
    cmd.add_argument("--limit", type=int, help="delete at most this many")
    cmd.add_argument("--show", type=int, default=20, help="rows in the table (default 20)")
    cmd.add_argument("--apply", action="store_true",
                     help="delete the selected memories (default: dry run, delete nothing)")
    cmd.set_defaults(func=_run)


def _run(args: argparse.Namespace, settings: Settings) -> None:
    from agent_memory.reembed import _live  # the configured or the embedded Redis

    try:
        policy = ForgetPolicy(max_age_days=args.max_age_days,
                              max_inactive_days=args.max_inactive_days, budget=args.budget,
                              memory_type_allowlist=args.types,
                              hard_age_multiplier=args.hard_age_multiplier)
    except ValidationError as exc:
        sys.exit(f"agent-memory forget: {exc.errors()[0]['msg']}")
    if policy.max_age_days is None and policy.max_inactive_days is None and policy.budget is None:
        sys.exit("agent-memory forget: give --max-age-days, --max-inactive-days or --budget")
    scope = ForgetScope(namespace=args.namespace, user_id=args.user_id,
                        session_id=args.session_id)
    with _live(settings) as live:
        outcome = asyncio.run(forget(live, policy, scope, pinned_ids=args.pinned,
                                     limit=args.limit, apply=args.apply, show=args.show))
    print(render(outcome, args.apply))
