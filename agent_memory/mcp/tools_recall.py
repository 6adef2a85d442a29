"""Weighted recall (``POST /v1/memories/recall``) as a tool: a thin adapter over
``RecallService``, the service the REST route calls."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult
from pydantic import Field

from agent_memory.errors import FeatureDisabled
from agent_memory.mcp.runtime import Runtime, reply
from agent_memory.mcp.tools_long_term import Opt
from agent_memory.models.memories import RecallFilters, RecallRequest, RecallWeights


def register(server: MCPServer, runtime: Runtime) -> None:
    """Add ``recall_memories`` to ``server``."""

    @server.tool(structured_output=False, description=(
        "Recall the memories that matter most for a query, ranked by a weighted mix of "
        "meaning, recency and importance (set weights to change the mix). Use it for "
        "'what should I keep in mind about X'; use search_long_term_memory to filter on "
        "AMS fields. Each hit carries its score and the three components."))
    async def recall_memories(
        query: Annotated[str, Field(description="What the memories should be about.")],
        ctx: Context,
        k: Opt[int, Field(description="How many to return (clamped to 1-50).")] = 10,
        filters: Opt[RecallFilters | None, Field(
            description="sources, tags (any of), since/until, tier, metadata equality, "
            "include_summaries.")] = None,
        weights: Opt[RecallWeights | None, Field(
            description="semantic, recency, importance (normalised; default the "
            "server's mix).")] = None,
        user_id: Opt[str | None, Field(description="User whose memories to recall.")] = None,
        namespace: Opt[str | None, Field(description="Namespace to recall from.")] = None,
        session_id: Opt[str | None, Field(
            description="The asking conversation (recorded, not a filter).")] = None,
    ) -> CallToolResult:
        async with runtime.call(ctx) as call:
            recall = call.services.recall
            if not call.services.settings.long_term_memory or recall is None:
                raise FeatureDisabled("Long-term memory is disabled")
            request = RecallRequest.model_validate({k_: v for k_, v in {
                "query": query, "k": k, "filters": filters, "weights": weights,
                "user_id": user_id or call.user_id, "namespace": namespace or call.namespace,
                "session_id": session_id}.items() if v is not None})
            return reply(await recall.recall(call.principal, request))
