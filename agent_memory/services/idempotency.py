"""Replay-safe requests: a response stored under the client's ``Idempotency-Key``."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from agent_memory.errors import IdempotencyKeyReused, InvalidRequest
from agent_memory.principal import Principal
from agent_memory.settings import Settings
from agent_memory.storage.ingestion import IngestionStore

Door = Literal["process", "ingestion"]

Produce = Callable[[str | None], Awaitable[dict[str, Any]]]
"""Makes the response; given the key of a response stored under the request's
``Idempotency-Key`` (``None``: no key), it raises :class:`Replay` with what is stored there
instead of writing anything (the ingestion pipeline's accept script looks, in the same
round trip as its claims)."""


class Replay(Exception):
    """A response is already stored under the request's ``Idempotency-Key``."""

    def __init__(self, stored: dict[str, Any]) -> None:
        super().__init__("a response is stored under this Idempotency-Key")
        self.stored = stored


async def once(store: IngestionStore, settings: Settings, door: Door, principal: Principal,
               namespace: str | None, key: str | None, request: Callable[[], str],
               produce: Produce) -> tuple[dict[str, Any], bool]:
    """Serve a request at most once per ``Idempotency-Key`` (per door, tenant and caller).

    Returns the response body and whether it is a replay. The same key with another request
    body is a 422. Two requests racing with one key both run ``produce`` (each turn is
    idempotent on its own, so nothing is written twice) and the first stored answer is what
    later replays return.

    Args:
        request: Serializes the validated request canonically (its fingerprint; only
            called when there is a key).
    """
    if key is None:
        return await produce(None), False
    if not key.strip() or len(key) > 255:
        raise InvalidRequest("Idempotency-Key must have 1 to 255 characters", details=[
            {"type": "value_error", "loc": ["header", "Idempotency-Key"],
             "msg": "1 to 255 characters"}])
    digest = hashlib.sha256(key.encode()).hexdigest()
    fingerprint = hashlib.sha256(request().encode()).hexdigest()
    response_key = store.response_key(door, namespace, principal.subject, digest)
    try:
        body = await produce(response_key)
    except Replay as found:
        stored: dict[str, Any] | None = found.stored
    else:
        doc = {"fingerprint": fingerprint, "body": body}
        if await store.store_response(response_key, doc, settings.idempotency_ttl_seconds):
            return body, False
        stored = await store.stored_response(response_key)
        if stored is None:  # expired in between: ours is as good
            return body, False
    if stored["fingerprint"] != fingerprint:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was used with a different request",
            details={"header": "Idempotency-Key"})
    return stored["body"], True
