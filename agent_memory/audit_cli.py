"""``agent-memory audit``: print the audit trail, with the filters of ``GET /v1/audit``.

Reads the server's Redis directly (``REDIS_URL``, or the embedded one) as an operator: every
tenant's events. ``--format json`` prints one page as ``GET /v1/audit`` answers it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from agent_memory.models.audit import AuditPage, AuditQueryParams
from agent_memory.principal import Principal
from agent_memory.services.audit import AuditTrail, audit_page
from agent_memory.settings import Settings
from agent_memory.storage.audit import AuditStore

OPERATOR = Principal(subject="cli")


def register(sub: Any) -> None:
    """Add the ``audit`` command to the top-level sub-parsers."""
    audit = sub.add_parser("audit", help="print the audit trail (deletes, erases, tokens)",
                           description="Print audit events, oldest first. Never shows memory "
                           "content: only who, when, which tenant, method, reason, ids, counts.")
    audit.add_argument("-u", "--user", dest="user_id", help="only this user id")
    audit.add_argument("-n", "--namespace", help="only this namespace")
    audit.add_argument("-m", "--method", help="gdpr_request, user_request, api_delete, "
                       "policy or erase")
    audit.add_argument("-a", "--action", help="e.g. memory.forget, memory.purge, user.erase")
    audit.add_argument("--since", help="ISO 8601 time with zone (e.g. 2026-05-01T00:00:00Z)")
    audit.add_argument("--until", help="ISO 8601 time with zone")
    audit.add_argument("--cursor", help="continue after this event id (next_cursor)")
    audit.add_argument("--limit", type=int, default=100, help="events per page (100)")
    audit.add_argument("--all", action="store_true", help="follow the cursor to the end")
    audit.add_argument("--format", choices=("text", "json"), default="text",
                       help="readable lines (default) or one JSON page per line")
    audit.set_defaults(func=_run)


def _params(args: argparse.Namespace) -> AuditQueryParams:
    raw = {k: getattr(args, k) for k in ("user_id", "namespace", "method", "action", "since",
                                         "until", "cursor", "limit")}
    try:
        return AuditQueryParams.model_validate({k: v for k, v in raw.items() if v is not None})
    except ValidationError as exc:
        sys.exit(f"agent-memory audit: {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}")


def _line(event: dict[str, Any]) -> str:
    parts = [event["at"], event["action"], f"by={event['subject']}"]
    for name in ("namespace", "user_id", "method", "outcome"):
        if event.get(name) is not None:
            parts.append(f"{name}={event[name]}")
    if event.get("ids"):
        parts.append("ids=" + ",".join(event["ids"]))
    if event.get("counts"):
        parts.append("counts=" + json.dumps(event["counts"], separators=(",", ":")))
    if event.get("reason"):
        parts.append(f"reason={json.dumps(event['reason'])}")
    return "  ".join(parts)


async def _pages(url: str, settings: Settings, params: AuditQueryParams,
                 follow: bool) -> list[AuditPage]:
    redis = Redis.from_url(url)
    try:
        trail = AuditTrail(AuditStore(redis, settings.audit_retention_days))
        pages = [await audit_page(trail, OPERATOR, params)]
        while follow and pages[-1].next_cursor is not None:
            params = params.model_copy(update={"cursor": pages[-1].next_cursor})
            pages.append(await audit_page(trail, OPERATOR, params))
        return pages
    finally:
        await redis.aclose()


def _run(args: argparse.Namespace, settings: Settings) -> None:
    from agent_memory.auth.cli import _redis_url

    params = _params(args)
    with _redis_url(settings) as url:
        try:
            pages = asyncio.run(_pages(url, settings, params, args.all))
        except RedisError as exc:
            sys.exit(f"agent-memory audit: Redis at {url} failed: {exc}")
    for page in pages:
        if args.format == "json":
            print(page.model_dump_json())
            continue
        for event in page.events:
            print(_line(event.model_dump()))
    if args.format == "text" and pages[-1].next_cursor is not None:
        print(f"(more: --cursor {pages[-1].next_cursor})")
