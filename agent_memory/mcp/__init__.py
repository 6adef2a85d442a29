"""MCP server: every memory capability as tools, with the REST API's auth and tenancy."""

from __future__ import annotations

from .runtime import Call, Runtime, StdioIdentity
from .server import build_server

__all__ = ["Call", "Runtime", "StdioIdentity", "build_server"]
