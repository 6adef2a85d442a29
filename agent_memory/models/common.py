"""Small response models shared by several routes."""

from __future__ import annotations

from pydantic import BaseModel


class AckResponse(BaseModel):
    """AMS's acknowledgement; clients do not parse ``status``."""

    status: str

    @classmethod
    def compacted(cls, remaining: int, damaged: int) -> AckResponse:
        """The answer of a compaction pass (REST and MCP say the same)."""
        skipped = f" ({damaged} damaged records skipped)" if damaged else ""
        return cls(status=f"ok, {remaining} memories remaining after compaction{skipped}")


class HealthCheckResponse(BaseModel):
    """Liveness: the server's clock in milliseconds since the epoch."""

    now: int


class ReadinessResponse(BaseModel):
    """Readiness: whether Redis and each index answer."""

    ready: bool
    redis: bool
    indexes: dict[str, bool]
    detail: str | None = None
