"""The memories door (``/v1/memories``): add, read, edit, recall."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.routing import Route

from agent_memory.api._http import endpoint, principal_of, validation_details
from agent_memory.errors import FeatureDisabled, ValidationFailed
from agent_memory.models.memories import (
    AddMemoryRequest,
    EditMemoryRequest,
    MemoryId,
    MemoryResponse,
    RecallRequest,
    RecallResponse,
)
from agent_memory.services.memories import MemoriesService
from agent_memory.services.recall import RecallService

TAGS = ("memories",)
_ID = TypeAdapter(MemoryId)


def _services(request: Request) -> Any:
    services = request.state.services
    if not services.settings.long_term_memory or services.memories is None:
        raise FeatureDisabled("Long-term memory is disabled")
    return services


def _memories(request: Request) -> MemoriesService:
    return _services(request).memories  # type: ignore[no-any-return]


def _recall(request: Request) -> RecallService:
    return _services(request).recall  # type: ignore[no-any-return]


def _id(value: str) -> str:
    try:
        return _ID.validate_python(value)
    except ValidationError as exc:
        raise ValidationFailed("invalid memory id",
                               details=validation_details(exc, "path")) from exc


@endpoint("POST", "/memories", summary="Add a memory", body=AddMemoryRequest,
          response=MemoryResponse, status_code=201, tags=TAGS)
async def add_memory(request: Request, body: AddMemoryRequest) -> MemoryResponse:
    """Store a row (searchable before the answer); enrichment fields the model still has
    to fill are listed in ``enrichment.pending``."""
    return await _memories(request).add(principal_of(request), body)


@endpoint("POST", "/memories/recall", summary="Recall memories by weighted score",
          body=RecallRequest, response=RecallResponse, tags=TAGS)
async def recall_memories(request: Request, body: RecallRequest) -> RecallResponse:
    """The best ``k`` (clamped to [1, 50]) rows by semantic, recency and importance."""
    return await _recall(request).recall(principal_of(request), body)


@endpoint("GET", "/memories/{memory_id}", summary="Get a memory", response=MemoryResponse,
          tags=TAGS, extra_responses={404: "No such memory (or expired)"})
async def get_memory(request: Request, memory_id: str) -> MemoryResponse:
    """One row with its lifecycle; reading it makes it hot."""
    return await _memories(request).get(principal_of(request), _id(memory_id))


@endpoint("PATCH", "/memories/{memory_id}", summary="Edit a memory", body=EditMemoryRequest,
          response=MemoryResponse, tags=TAGS, extra_responses={404: "No such memory"})
async def edit_memory(request: Request, memory_id: str,
                      body: EditMemoryRequest) -> MemoryResponse:
    """Change text, tags, metadata, importance or ``ttl_minutes`` (from now; null: never
    expires)."""
    return await _memories(request).edit(principal_of(request), _id(memory_id), body)


@endpoint("GET", "/memories/{memory_id}/candidates", summary="Why a memory was created",
          tags=TAGS, extra_responses={404: "No such memory"})
async def memory_candidates(request: Request, memory_id: str) -> dict[str, Any]:
    """The extraction candidates enrichment recorded for the row (seed shape)."""
    found = await _memories(request).candidates(principal_of(request), _id(memory_id))
    return {"candidates": found}


# Static paths first: "/memories/recall" must not be taken for an id.
routes: list[Route] = [add_memory, recall_memories, get_memory, edit_memory, memory_candidates]
