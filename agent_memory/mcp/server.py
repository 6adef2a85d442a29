"""The MCP server object: its instructions and every tool, registered by adapter modules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, InputRequiredResult
from pydantic import ValidationError

from agent_memory import __version__
from agent_memory.mcp import (
    tools_forgetting,
    tools_long_term,
    tools_process,
    tools_profile,
    tools_recall,
    tools_session,
)
from agent_memory.mcp.runtime import Runtime, invalid_arguments

INSTRUCTIONS = (
    "Long-term and session memory for this user. Before answering questions about the "
    "user's preferences, history or earlier conversations, search memory "
    "(search_long_term_memory or memory_prompt). Save durable facts with "
    "create_long_term_memories; record chat turns with append_messages."
)

Register = Callable[[MCPServer, Runtime], None]

TOOL_MODULES: list[Register] = [tools_session.register, tools_long_term.register,
                                tools_forgetting.register, tools_recall.register,
                                tools_profile.register, tools_process.register]
"""Each adds its tools: a door is one small adapter module here."""


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
    for register in TOOL_MODULES:
        register(server, runtime)
    return server
