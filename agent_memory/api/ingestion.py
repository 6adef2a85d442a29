"""``POST /ingestion/memory``: conversation ingestion with an active and a passive tier (a
thin adapter over the ingestion pipeline; mounted beside ``/v1``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from agent_memory.api._http import endpoint, principal_of
from agent_memory.errors import FeatureDisabled, InvalidRequest
from agent_memory.models.ingestion import IngestionRequest, IngestionResponse, Usage
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
DEFAULT_SESSION = "default-session"


def submission(body: IngestionRequest, namespace: str, user_id: str | None) -> Submission:
    """The request in the pipeline's terms: one unit per turn, hashed from its session,
    role, text and timestamp; its message id is derived from that hash."""
    session = body.scope.session_id or DEFAULT_SESSION
    units = []
    for turn in body.turns:
        digest = unit_hash(session, turn.role, turn.text, timestamp(turn.timestamp))
        units.append(Unit(digest, [TurnMessage(f"t{digest[:32]}", turn.role, turn.text,
                                               turn.timestamp)]))
    options = body.options
    return Submission(
        door="ingestion", namespace=namespace, user_id=user_id,
        containers=[(session, "session")], units=units,
        policy=Policy(has_user=user_id is not None, has_containers=True),
        metadata=body.metadata, write_messages=options.write_active,
        write_fragments=options.write_active, passive=options.write_passive)


@endpoint("POST", "/ingestion/memory", summary="Ingest conversation memory",
          body=IngestionRequest, response=IngestionResponse, status_code=202, tags=TAGS,
          invalid=InvalidRequest.from_failure,
          extra_responses={403: "scope.org_id or scope.user_id is outside this token's "
                                "bounds",
                           422: "Invalid request (code invalid_request), or an "
                                "Idempotency-Key reused with another body"})
async def ingest(request: Request, body: IngestionRequest) -> Response:
    """Write turns under a scope: the active tier (session messages, and one fragment per
    turn that a search finds at once) before answering; passive enrichment (adjudicated
    memories with topics and entities) as a background job.

    ``scope.org_id`` is the namespace; a token bound to namespaces must name one of its own
    (403 otherwise). Re-sending a turn (same session, role, text and timestamp) is a no-op:
    same ids, no second charge.
    """
    service = request.state.services.ingestion
    if service is None:
        raise FeatureDisabled("turn ingestion is not available")
    principal = principal_of(request)
    namespace = principal.scope_namespace(body.scope.org_id)
    assert namespace is not None
    user_id = principal.scope_user(body.scope.user_id)
    sub = submission(body, namespace, user_id)

    async def produce(response_key: str | None) -> dict[str, object]:
        receipt = await service.accept(principal, sub, response_key)
        return IngestionResponse(
            job_id=receipt.job_id, active_fragment_ids=receipt.fragment_ids,
            passive_job_id=receipt.passive_job_id, usage=Usage(tokens_in=receipt.tokens_in),
        ).model_dump(mode="json")

    out, replayed = await once(service.store, service.settings, "ingestion", principal,
                               namespace, request.headers.get("idempotency-key"),
                               body.model_dump_json, produce)
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return JSONResponse(out, status_code=202, headers=headers)


routes: list[Route] = [ingest]
