"""``POST /v1/process``: post-turn processing (a thin adapter over the ingestion pipeline)."""

from __future__ import annotations

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from agent_memory.api._http import endpoint, principal_of
from agent_memory.errors import FeatureDisabled, InvalidRequest
from agent_memory.models._ingest_types import Identifier
from agent_memory.models._types import utcnow
from agent_memory.models.process import ProcessRequest, ProcessResponse
from agent_memory.services.adjudication import Policy
from agent_memory.services.idempotency import once
from agent_memory.services.ingestion import (
    Submission,
    TurnMessage,
    Unit,
    timestamp,
    unit_hash,
)

TAGS = ("ingestion",)


class ProcessQuery(BaseModel):
    """Query of ``POST /v1/process``: the namespace, for callers not bound to one."""

    namespace: Identifier | None = Field(default=None)


def submission(body: ProcessRequest, namespace: str | None, user_id: str) -> Submission:
    """The request in the pipeline's terms: one unit holding the turn's two messages.

    The unit's hash is the upstream message ids when given, else the two texts and the
    timestamp; the messages keep the upstream ids, or get ids derived from that hash.
    """
    turn = body.turn
    if turn.user_message_id or turn.assistant_message_id:
        digest = unit_hash("ids", turn.user_message_id, turn.assistant_message_id)
    else:
        digest = unit_hash("texts", turn.user_message, turn.assistant_response,
                           timestamp(turn.occurred_at) if turn.occurred_at else None)
    at = turn.occurred_at or utcnow()
    messages = [
        TurnMessage(turn.user_message_id or f"t{digest[:24]}-u", "user", turn.user_message, at),
        TurnMessage(turn.assistant_message_id or f"t{digest[:24]}-a", "assistant",
                    turn.assistant_response, at),
    ]
    policy = body.scope_policy
    return Submission(
        door="process", namespace=namespace, user_id=user_id,
        containers=[(c.id, c.type) for c in body.containers], units=[Unit(digest, messages)],
        policy=Policy(policy.write_user, policy.write_global, policy.write_container,
                      has_user=True, has_containers=bool(body.containers)),
        metadata=body.metadata.model_dump(), write_messages=True, write_fragments=False,
        passive=True)


@endpoint("POST", "/process", summary="Queue post-turn memory processing", body=ProcessRequest,
          query=ProcessQuery, response=ProcessResponse, status_code=202, tags=TAGS,
          invalid=InvalidRequest.from_failure,
          extra_responses={403: "The user or namespace is outside this token's bounds",
                           422: "Invalid request (code invalid_request), or an "
                                "Idempotency-Key reused with another body"})
async def process(request: Request, body: ProcessRequest, query: ProcessQuery) -> Response:
    """Store the turn in each container's working memory, create the user and any missing
    container, and queue a job that decides what to remember (``GET /v1/jobs/{job_id}``).

    Answers before any model work. Re-sending a turn (same upstream message ids, or same
    texts and ``occurred_at``) is a no-op that answers with the original ``job_id``; an
    ``Idempotency-Key`` header replays the whole first response.
    """
    service = request.state.services.ingestion
    if service is None:
        raise FeatureDisabled("turn ingestion is not available")
    principal = principal_of(request)
    namespace = principal.scope_namespace(query.namespace)
    user_id = principal.scope_user(body.user_id)
    assert user_id is not None
    sub = submission(body, namespace, user_id)

    async def produce(response_key: str | None) -> dict[str, object]:
        receipt = await service.accept(principal, sub, response_key)
        return ProcessResponse(
            job_id=receipt.job_id, created_user=receipt.created_user,
            created_containers=receipt.created_containers,
            accepted_at=receipt.accepted_at.strftime("%Y-%m-%dT%H:%M:%S.%f"),
        ).model_dump(mode="json")

    out, replayed = await once(service.store, service.settings, "process", principal, namespace,
                               request.headers.get("idempotency-key"), body.model_dump_json,
                               produce)
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return JSONResponse(out, status_code=202, headers=headers)


routes: list[Route] = [process]
