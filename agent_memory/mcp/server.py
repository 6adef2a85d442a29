"""The MCP server object: its instructions and every tool, registered by adapter modules."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, InputRequiredResult
from pydantic import ValidationError

from agent_memory import __version__
from agent_memory.mcp import tools_forgetting, tools_long_term, tools_session
from agent_memory.mcp.runtime import Runtime, invalid_arguments

INSTRUCTIONS = (
    "Long-term and session memory for this user. Before answering questions about the "
    "user's preferences, history or earlier conversations, search memory "
    "(search_long_term_memory or memory_prompt). Save durable facts with "
    "create_long_term_memories; record chat turns with append_messages."
)

Register = Callable[[MCPServer, Runtime], None]

TOOL_MODULES: list[Register] = [tools_session.register, tools_long_term.register,
                                tools_forgetting.register]
"""Each adds its tools; a door that lands later adds one small module here."""

DOOR_TOOL_MODULES = {
    "tools_recall": "agent_memory.models.memories",  # POST /v1/memories/recall
    "tools_profile": "agent_memory.models.profile",  # POST /memory/read
    "tools_process": "agent_memory.models.process",  # POST /v1/process
}
"""Adapters for doors built beside this one: each is registered when its door's models are
part of this build, and left out (tool not listed) otherwise."""


def door_tool_modules() -> list[Register]:
    """The ``register`` of every door adapter whose door is in this build."""
    found: list[Register] = []
    for module, door in DOOR_TOOL_MODULES.items():
        if importlib.util.find_spec(door) is None:
            continue
        found.append(importlib.import_module(f"agent_memory.mcp.{module}").register)
    return found


class MemoryServer(MCPServer[Any]):
    """The SDK's server, with arguments that fail the tool's schema reported like every
    other validation error (the REST 422 body, field paths, no echoed values)."""

    async def call_tool(self, name: str, arguments: dict[str, Any],
                        context: Context[Any, Any] | None = None,
                        ) -> CallToolResult | InputRequiredResult:
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            if isinstance(exc.__cause__, ValidationError):
                raise ToolError(invalid_arguments(exc.__cause__)) from None
            raise


def build_server(runtime: Runtime) -> MCPServer:
    """A server with every tool, calling the services ``runtime`` holds."""
    server = MemoryServer("agent-memory", instructions=INSTRUCTIONS, version=__version__,
                          log_level="WARNING")
    for register in [*TOOL_MODULES, *door_tool_modules()]:
        register(server, runtime)
    return server
