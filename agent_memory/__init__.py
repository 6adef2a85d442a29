"""agent-memory: a Redis-native memory server for LLM agents, wire-compatible with AMS."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
