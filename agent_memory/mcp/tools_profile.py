"""Profile memory read for a stated purpose (``POST /memory/read``) as a tool: a thin
adapter over ``ProfileService``. A purpose the policy does not allow is the REST route's
``policy_denied`` error, as a tool error."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult
from pydantic import Field

from agent_memory.errors import FeatureDisabled, ProfileInvalidRequest
from agent_memory.mcp.runtime import Runtime, reply
from agent_memory.mcp.tools_long_term import Opt
from agent_memory.models.profile import ReadProfileMemory, Scope


def register(server: MCPServer, runtime: Runtime) -> None:
    """Add ``read_profile_memory`` to ``server``."""

    @server.tool(structured_output=False, description=(
        "Read the user's profile (preferences, constraints, communication, accessibility, "
        "schedule...) for a purpose you state honestly, e.g. 'tailor the reply tone'. The "
        "purpose is checked against the user's policy: a refused purpose is a "
        "policy_denied error, not something to retry with other words. Returns a summary, "
        "the merged values, a confidence and a revocation token."))
    async def read_profile_memory(
        user_id: Annotated[str, Field(description="Whose profile.")],
        scope: Annotated[Scope, Field(description="Which part of the profile.")],
        purpose: Annotated[str, Field(description="Why you need it, in plain words.")],
        ctx: Context,
        domain: Opt[str | None, Field(description="Narrow to one domain (e.g. 'food').")] = None,
        namespace: Opt[str | None, Field(description="Namespace of the profile.")] = None,
        max_age_days: Opt[float | None, Field(
            description="Only values recorded within this many days.")] = None,
    ) -> CallToolResult:
        # The profile routes answer bad input with their contract's invalid_request.
        async with runtime.call(ctx, invalid=ProfileInvalidRequest.from_validation) as call:
            profile = call.services.profile
            if profile is None:
                raise FeatureDisabled("Profile memory is not available")
            request = ReadProfileMemory.model_validate({k: v for k, v in {
                "user_id": user_id, "scope": scope, "purpose": purpose, "domain": domain,
                "namespace": namespace or call.namespace, "max_age_days": max_age_days}.items()
                if v is not None})
            return reply(await profile.read(call.principal, request))
