"""Post-turn processing (``POST /v1/process``) as a tool: the REST route's own turn-to-
submission rule and ``IngestionService``, so a turn sent through either door is the same
turn (a re-send through the other is a no-op answering the same job)."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult
from pydantic import Field

from agent_memory.api.process import submission
from agent_memory.errors import FeatureDisabled, InvalidRequest
from agent_memory.mcp.runtime import Runtime, reply
from agent_memory.mcp.tools_long_term import Opt
from agent_memory.models.process import (
    ContainerHint,
    ProcessRequest,
    ProcessResponse,
    RequestMetadata,
    ScopePolicy,
    TurnEnvelope,
)


def register(server: MCPServer, runtime: Runtime) -> None:
    """Add ``process_turn`` to ``server``."""

    @server.tool(structured_output=False, description=(
        "After each completed turn, hand the user's message and your reply to memory. The "
        "turn is stored at once and a background job decides what is worth remembering; "
        "the answer is immediate and names the job. Sending the same turn again is "
        "harmless (same job)."))
    async def process_turn(
        user_id: Annotated[str, Field(description="The user the turn belongs to.")],
        turn: Annotated[TurnEnvelope, Field(
            description="user_message and assistant_response (required), occurred_at, "
            "and the upstream message ids if any.")],
        ctx: Context,
        containers: Opt[list[ContainerHint] | None, Field(
            description="Threads or projects the turn belongs to ({id, type}).")] = None,
        scope_policy: Opt[ScopePolicy | None, Field(
            description="Where memories may be written (write_user, write_global: "
            "auto|true|false; write_container).")] = None,
        metadata: Opt[RequestMetadata | None, Field(
            description="app, source, model, trace_id (kept as provenance).")] = None,
        namespace: Opt[str | None, Field(description="Namespace of the user.")] = None,
    ) -> CallToolResult:
        async with runtime.call(ctx, invalid=InvalidRequest.from_failure) as call:
            service = call.services.ingestion
            if service is None:
                raise FeatureDisabled("turn ingestion is not available")
            body = ProcessRequest.model_validate({k: v for k, v in {
                "user_id": user_id, "turn": turn, "containers": containers,
                "scope_policy": scope_policy, "metadata": metadata}.items() if v is not None})
            scope_namespace = call.principal.scope_namespace(namespace or call.namespace)
            user = call.principal.scope_user(body.user_id)
            assert user is not None
            receipt = await service.accept(call.principal,
                                           submission(body, scope_namespace, user))
            return reply(ProcessResponse(
                job_id=receipt.job_id, created_user=receipt.created_user,
                created_containers=receipt.created_containers,
                accepted_at=receipt.accepted_at.strftime("%Y-%m-%dT%H:%M:%S.%f")))
