"""``agent-memory token add|list|show|remove``: manage bearer tokens for ``AUTH_MODE=token``.

Tokens live in the server's Redis (``REDIS_URL``; on the embedded default, the local Redis,
started for the command if the server is not running). A token's id is the SHA-256 digest
of its secret; ``show`` and ``remove`` accept any unique prefix of 8+ characters.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from agent_memory.errors import ValidationFailed
from agent_memory.principal import Principal
from agent_memory.services.audit import AuditTrail
from agent_memory.settings import Settings
from agent_memory.storage.audit import AuditStore
from agent_memory.storage.auth_tokens import TokenRecord, TokenStore

from .tokens import issue_token


def register(sub: Any) -> None:
    """Add the ``token`` command group to the top-level sub-parsers."""
    token = sub.add_parser("token", help="manage bearer tokens (AUTH_MODE=token)",
                           description="Create, list, show and revoke bearer tokens. Only a "
                           "SHA-256 digest of each token is stored; the token is printed once.")
    cmds = token.add_subparsers(dest="token_command", required=True)

    add = cmds.add_parser("add", help="create a token and print it once")
    add.add_argument("-d", "--description", required=True, help="what the token is for")
    add.add_argument("-e", "--expires-days", type=float, default=None,
                     help="expire after this many days (default: never)")
    add.add_argument("-n", "--namespace", action="append", default=[], dest="namespaces",
                     help="bind to this namespace (repeatable)")
    add.add_argument("-u", "--user", dest="user_id", default=None, help="bind to this user id")
    add.add_argument("--admin", action="store_true", help="unbounded: every tenant")
    add.add_argument("--token", default=None, help="use this secret instead of a random one")
    add.add_argument("--format", choices=("text", "json"), default="text",
                     help="output as readable text (default) or as JSON")
    add.set_defaults(func=_command(_add))

    lst = cmds.add_parser("list", help="list tokens (never their secrets)")
    lst.add_argument("--format", choices=("text", "json"), default="text",
                     help="output as readable text (default) or as JSON")
    lst.set_defaults(func=_command(_list))

    show = cmds.add_parser("show", help="show one token")
    show.add_argument("token_id", help="token id or a unique prefix (8+ characters)")
    show.add_argument("--format", choices=("text", "json"), default="text",
                      help="output as readable text (default) or as JSON")
    show.set_defaults(func=_command(_show))

    remove = cmds.add_parser("remove", help="revoke a token (effective on the next request)")
    remove.add_argument("token_id", help="token id or a unique prefix (8+ characters)")
    remove.add_argument("-f", "--force", action="store_true",
                        help="accepted for AMS compatibility; removal never prompts")
    remove.set_defaults(func=_command(_remove))


def _command(action: Any) -> Any:
    def run(args: argparse.Namespace, settings: Settings) -> None:
        with _redis_url(settings) as url:
            try:
                asyncio.run(_with_store(url, action, args, settings))
            except (LookupError, ValidationFailed) as exc:
                sys.exit(f"agent-memory token: {exc}")
            except RedisError as exc:
                sys.exit(f"agent-memory token: Redis at {url} failed: {exc}")
    return run


async def _with_store(url: str, action: Any, args: argparse.Namespace,
                      settings: Settings) -> None:
    redis = Redis.from_url(url)
    try:
        # Token changes are audit events (issue 16): which token, its bounds, never a secret.
        trail = AuditTrail(AuditStore(redis, settings.audit_retention_days))
        await action(TokenStore(redis), args, trail)
    finally:
        await redis.aclose()


async def _audit(trail: AuditTrail, action: str, record: TokenRecord) -> None:
    namespaces = list(record.namespaces or [])
    await trail.record(action, principal=Principal(subject="cli"),
                       namespace=namespaces[0] if len(namespaces) == 1 else None,
                       user_id=record.user_id, ids=[record.digest[:16]],
                       details={"admin": record.admin, "namespaces": namespaces,
                                "description": record.description})


@contextlib.contextmanager
def _redis_url(settings: Settings) -> Iterator[str]:
    """The configured Redis, else the running embedded one, else a freshly started one."""
    if not settings.embedded_redis or _answers(settings.effective_redis_url()):
        yield settings.effective_redis_url()
        return
    from agent_memory.cli import _redis_for

    with _redis_for(settings) as live:
        yield live.effective_redis_url()


def _answers(url: str) -> bool:
    async def ping() -> bool:
        client = Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=1)
        try:
            return bool(await client.ping())
        except (RedisError, OSError):
            return False
        finally:
            await client.aclose()
    return asyncio.run(ping())


async def _add(store: TokenStore, args: argparse.Namespace, trail: AuditTrail) -> None:
    expires = None if args.expires_days is None else args.expires_days * 86400
    secret, record = await issue_token(
        store, description=args.description, namespaces=args.namespaces, user_id=args.user_id,
        admin=args.admin, expires_in_seconds=expires, secret=args.token,
    )
    await _audit(trail, "token.add", record)
    if args.format == "json":
        print(json.dumps({"token": secret, **record.to_json()}))
        return
    print(f"token: {secret}")
    print("(shown once: only its digest is stored)")
    print(_describe(record))


async def _list(store: TokenStore, args: argparse.Namespace, trail: AuditTrail) -> None:
    records = await store.all()
    if args.format == "json":
        print(json.dumps([r.to_json() for r in records]))
        return
    if not records:
        print("no tokens")
    for record in records:
        print(f"{record.digest[:16]}  {_bounds(record):<40}  {_expiry(record):<22}  "
              f"{record.description}")


async def _show(store: TokenStore, args: argparse.Namespace, trail: AuditTrail) -> None:
    record = await store.resolve(args.token_id)
    print(json.dumps(record.to_json()) if args.format == "json" else _describe(record))


async def _remove(store: TokenStore, args: argparse.Namespace, trail: AuditTrail) -> None:
    record = await store.resolve(args.token_id)
    await store.remove(record.digest)
    await _audit(trail, "token.remove", record)
    print(f"removed token {record.digest[:16]} ({record.description})")


def _describe(record: TokenRecord) -> str:
    return "\n".join([
        f"id: {record.digest}",
        f"description: {record.description}",
        f"bounds: {_bounds(record)}",
        f"created: {_when(record.created_at)}",
        f"expires: {_expiry(record)}",
    ])


def _bounds(record: TokenRecord) -> str:
    if record.admin:
        return "admin (every tenant)"
    parts = []
    if record.namespaces:
        parts.append("namespaces=" + ",".join(record.namespaces))
    if record.user_id is not None:
        parts.append(f"user={record.user_id}")
    return " ".join(parts)


def _expiry(record: TokenRecord) -> str:
    if record.expires_at is None:
        return "never"
    suffix = " (expired)" if record.expired(time.time()) else ""
    return _when(record.expires_at) + suffix


def _when(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
