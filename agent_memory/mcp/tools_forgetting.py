"""Forgetting with a reason (``POST /v1/memories/forget``) as a tool: a thin adapter over
``TrashService``, the service the REST route calls."""

from __future__ import annotations

from typing import Annotated, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult
from pydantic import Field

from agent_memory.errors import FeatureDisabled
from agent_memory.mcp.runtime import Runtime, reply
from agent_memory.mcp.tools_long_term import Opt
from agent_memory.models.forgetting import ForgetMemoriesRequest, MemoryId


def register(server: MCPServer, runtime: Runtime) -> None:
    """Add ``forget_memories`` to ``server``."""

    @server.tool(structured_output=False, description=(
        "Forget memories when the user asks you to, saying why. They leave every search, "
        "recall and prompt at once, can be restored during a grace period, then are purged "
        "for good; the reason is kept in the audit trail (never the memory's text). A reason "
        "citing GDPR Article 17 or the right to be forgotten is recorded as gdpr_request."))
    async def forget_memories(
        memory_ids: Annotated[list[MemoryId], Field(
            description="Ids of the memories to forget (at most 1000).")],
        ctx: Context,
        reason: Opt[str | None, Field(
            description="Why, in the user's words (e.g. 'user asked to forget').")] = None,
        method: Opt[Literal["gdpr_request", "user_request", "api_delete"] | None, Field(
            description="How to record it; default from the reason.")] = None,
    ) -> CallToolResult:
        async with runtime.call(ctx) as call:
            trash = call.services.trash
            if trash is None:
                raise FeatureDisabled("Forgetting is not available")
            request = ForgetMemoriesRequest.model_validate({k: v for k, v in {
                "memory_ids": memory_ids, "reason": reason, "method": method}.items()
                if v is not None})
            return reply(await trash.forget(call.principal, request))
