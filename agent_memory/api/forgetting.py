"""Accountable forgetting routes: forget with a reason, restore, provenance (issue 16)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from agent_memory.api._http import endpoint, principal_of
from agent_memory.errors import FeatureDisabled
from agent_memory.models.audit import ProvenanceResponse
from agent_memory.models.forgetting import (
    ForgetMemoriesRequest,
    ForgetMemoriesResponse,
    RestoreResponse,
)
from agent_memory.services.trash import TrashService

TAGS = ("forgetting",)


def _trash(request: Request) -> TrashService:
    trash = request.state.services.trash
    if trash is None:  # pragma: no cover - build_services always wires it
        raise FeatureDisabled("Forgetting is not wired")
    return trash  # type: ignore[no-any-return]


@endpoint("POST", "/memories/forget", summary="Forget memories, with a reason",
          body=ForgetMemoriesRequest, response=ForgetMemoriesResponse, tags=TAGS,
          extra_responses={422: "Invalid ids or reason"})
async def forget_memories(request: Request,
                          body: ForgetMemoriesRequest) -> ForgetMemoriesResponse:
    """Soft-delete the listed memories (integer or string ids): they leave every read,
    search, recall and prompt at once and are purged for good after
    ``SOFT_DELETE_GRACE_DAYS``. A reason citing GDPR Article 17 or the right to be
    forgotten records the method ``gdpr_request``; ``method`` may name it explicitly;
    otherwise ``user_request``. Ids not found (or another tenant's) are listed as such.
    """
    return await _trash(request).forget(principal_of(request), body)


@endpoint("POST", "/memories/{memory_id}/restore", summary="Restore a forgotten memory",
          response=RestoreResponse, tags=TAGS,
          extra_responses={404: "Not in the trash", 409: "Id in use again",
                           410: "Grace period over"})
async def restore_memory(request: Request, memory_id: str) -> RestoreResponse:
    """Bring a soft-deleted memory back within the grace period (searchable at once)."""
    return await _trash(request).restore(principal_of(request), memory_id)


@endpoint("GET", "/memories/{memory_id}/provenance", summary="A memory's provenance",
          response=ProvenanceResponse, tags=TAGS, extra_responses={404: "No such memory"})
async def memory_provenance(request: Request, memory_id: str) -> ProvenanceResponse:
    """Where a memory came from (door, session, source messages, job, turn hash), how
    (strategy, model, prompt version, task), the candidates considered with their
    decisions, and its later history (edits, tier moves, supersession, delete, restore).
    Also for memories in the trash; 404 once purged or erased."""
    return await _trash(request).provenance(principal_of(request), memory_id)


routes: list[Route] = [forget_memories, restore_memory, memory_provenance]
