"""Summary-view wire models (AMS routes 14-20): views over long-term memory, per partition."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agent_memory.models._types import JsonBool, JsonInt, UTCDateTime, new_ulid, utcnow
from agent_memory.models.records import MemoryTypeEnum

GROUP_FIELDS = ("user_id", "namespace", "session_id", "memory_type")
FILTER_FIELDS = (*GROUP_FIELDS, "extraction_strategy", "topics")


class CreateSummaryViewRequest(BaseModel):
    """Body of ``POST /v1/summary-views``.

    ``filters`` maps a field to one value (``topics``: memories carrying that topic);
    ``group_by`` names the fields whose distinct values make the partitions.
    """

    model_config = ConfigDict(extra="ignore")

    name: str | None = Field(default=None, max_length=256)
    source: Literal["long_term", "working_memory"]
    group_by: list[str] = Field(default_factory=list, max_length=len(GROUP_FIELDS))
    filters: dict[str, Any] = Field(default_factory=dict)
    time_window_days: JsonInt | None = Field(default=None, ge=1, le=36_500)
    continuous: JsonBool = False
    prompt: str | None = Field(default=None, max_length=10_000)
    model_name: str | None = Field(default=None, max_length=256)

    @field_validator("filters", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return {} if value is None else value

    @field_validator("group_by")
    @classmethod
    def _known_groups(cls, value: list[str]) -> list[str]:
        bad = sorted(set(value) - set(GROUP_FIELDS))
        if bad:
            raise ValueError(f"cannot group by {bad}; use {list(GROUP_FIELDS)}")
        if len(set(value)) != len(value):
            raise ValueError("group_by names a field twice")
        return value

    @field_validator("filters")
    @classmethod
    def _known_filters(cls, value: dict[str, Any]) -> dict[str, Any]:
        bad = sorted(set(value) - set(FILTER_FIELDS))
        if bad:
            raise ValueError(f"cannot filter on {bad}; use {list(FILTER_FIELDS)}")
        for key, item in value.items():
            if not isinstance(item, str) or not item.strip():
                raise ValueError(f"filter {key!r} takes one non-empty string")
        memory_type = value.get("memory_type")
        if memory_type is not None and memory_type not in {m.value for m in MemoryTypeEnum}:
            raise ValueError(f"unknown memory_type {memory_type!r}")
        return value


class SummaryView(CreateSummaryViewRequest):
    """A stored view (AMS ``SummaryView``)."""

    id: str = Field(default_factory=new_ulid)


class RunPartitionRequest(BaseModel):
    """Body of ``POST /v1/summary-views/{id}/partitions/run``: one value per group field."""

    group: dict[str, str] = Field(default_factory=dict)


class RunSummaryViewRequest(BaseModel):
    """Body of ``POST /v1/summary-views/{id}/run``; clients also send ``force`` (ignored)."""

    model_config = ConfigDict(extra="ignore")

    task_id: str | None = Field(default=None, min_length=1, max_length=128,
                                pattern=r"^[A-Za-z0-9_.:-]+$")


class PartitionsQuery(BaseModel):
    """Query of ``GET /v1/summary-views/{id}/partitions``: keep partitions with these values."""

    user_id: str | None = Field(default=None, max_length=512)
    namespace: str | None = Field(default=None, max_length=512)
    session_id: str | None = Field(default=None, max_length=512)
    memory_type: str | None = Field(default=None, max_length=64)

    def wanted(self) -> dict[str, str]:
        """The group values asked for."""
        return {k: v for k, v in self.model_dump().items() if v not in (None, "")}


class SummaryViewPartitionResult(BaseModel):
    """The summary of one partition (AMS shape, with HEAD's ``empty``/``empty_reason``)."""

    view_id: str
    group: dict[str, str]
    summary: str = ""
    memory_count: int = Field(ge=0)
    empty: bool = False
    empty_reason: str | None = None
    computed_at: UTCDateTime = Field(default_factory=utcnow)
