"""Long-term memory wire models (AMS routes 6-11): create, search, edit, results."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from agent_memory.models._types import (
    BoundedText,
    JsonBool,
    JsonInt,
    MemoryId,
    TagList,
    UTCDateTime,
    new_ulid,
)
from agent_memory.models.common import AckResponse
from agent_memory.models.filters import (
    CreatedAt,
    Entities,
    EventDate,
    ExtractionStrategy,
    Importance,
    LastAccessed,
    MemoryType,
    Namespace,
    SessionId,
    Source,
    Tags,
    TierFilter,
    Topics,
    UserId,
)
from agent_memory.models.records import MemoryRecord, MemoryTypeEnum, text_not_blank

SearchMode = Literal["semantic", "keyword", "hybrid"]
TextScorer = Literal["BM25STD", "BM25", "TFIDF", "TFIDF.DOCNORM", "DISMAX", "DOCSCORE"]

MAX_OFFSET = 9_900  # offset + limit stays within RediSearch's 10,000-result cap (MAXSEARCHRESULTS)


class ExtractedMemoryRecord(MemoryRecord):
    """A record sent to ``POST /long-term-memory/``.

    AMS defaults (``memory_type`` semantic, ``discrete_memory_extracted`` "t"); unlike AMS a
    record without ``id`` is accepted and gets a new ULID.
    """

    id: MemoryId = Field(default_factory=new_ulid)
    discrete_memory_extracted: Literal["t", "f"] = "t"
    memory_type: MemoryTypeEnum = MemoryTypeEnum.semantic

    _text = field_validator("text")(text_not_blank)


class CreateMemoryRecordRequest(BaseModel):
    """Body of ``POST /long-term-memory/``."""

    model_config = ConfigDict(extra="ignore")

    memories: list[ExtractedMemoryRecord] = Field(max_length=10_000)
    deduplicate: JsonBool = True


class CreateMemoryResponse(AckResponse):
    """AMS's ``AckResponse`` plus the id each submitted memory ended up under, in order.

    A memory skipped as a duplicate reports the id of the stored memory it duplicates.
    """

    ids: list[str] = Field(default_factory=list)


class AcceptedCreateResponse(CreateMemoryResponse):
    """A create answered before indexing (``Prefer: respond-async``, status 202): the
    memories are stored in Redis with the task that indexes them; ``ids`` are the ids as
    submitted (a duplicate is resolved by the task). They are searchable once
    ``GET /v1/tasks/{task_id}`` says ``success``."""

    task_id: str


class SearchRequest(BaseModel):
    """Body of ``POST /long-term-memory/search`` (every AMS field).

    ``search_mode`` left out means the server's ``DEFAULT_SEARCH_MODE``.
    """

    model_config = ConfigDict(extra="ignore")

    text: str | None = Field(default=None, max_length=10_000)
    search_mode: SearchMode | None = None
    hybrid_alpha: float = Field(default=0.7, ge=0, le=1)
    text_scorer: TextScorer = "BM25STD"
    session_id: SessionId | None = None
    namespace: Namespace | None = None
    topics: Topics | None = None
    entities: Entities | None = None
    created_at: CreatedAt | None = None
    last_accessed: LastAccessed | None = None
    user_id: UserId | None = None
    distance_threshold: float | None = Field(default=None, ge=0, le=2)
    memory_type: MemoryType | None = None
    extraction_strategy: ExtractionStrategy | None = None
    event_date: EventDate | None = None
    limit: JsonInt = Field(default=10, ge=1, le=100)
    offset: JsonInt = Field(default=0, ge=0, le=MAX_OFFSET)
    recency_boost: JsonBool | None = None
    # null (AMS's own default) means the documented default: validated below to a number.
    recency_semantic_weight: float | None = Field(default=0.8, ge=0)
    recency_recency_weight: float | None = Field(default=0.2, ge=0)
    recency_freshness_weight: float | None = Field(default=0.6, ge=0)
    recency_novelty_weight: float | None = Field(default=0.4, ge=0)
    recency_half_life_last_access_days: float | None = Field(default=7.0, gt=0)
    recency_half_life_created_days: float | None = Field(default=30.0, gt=0)
    server_side_recency: JsonBool | None = None
    # memories door fields (issue 14): rows of any door can carry them
    tags: Tags | None = None
    source: Source | None = None
    tier: TierFilter | None = None
    importance: Importance | None = None

    @field_validator("recency_semantic_weight", "recency_recency_weight",
                     "recency_freshness_weight", "recency_novelty_weight",
                     "recency_half_life_last_access_days", "recency_half_life_created_days")
    @classmethod
    def _null_means_default(cls, value: float | None, info: ValidationInfo) -> float:
        if value is None:
            return float(cls.model_fields[info.field_name].default)  # type: ignore[index]
        return value


class SearchQuery(BaseModel):
    """Query string of the search route."""

    optimize_query: bool = False


class MemoryRecordResult(MemoryRecord):
    """A search hit: the record plus its distance and the score the list is sorted by."""

    dist: float = 0.0
    score: float | None = None
    score_type: SearchMode | None = None


class MemoryRecordResultsResponse(BaseModel):
    """A page of hits; ``total`` is the real number of matches, not the page size."""

    memories: list[MemoryRecordResult]
    total: int
    next_offset: int | None = None


class EditMemoryRecordRequest(BaseModel):
    """Body of ``PATCH /long-term-memory/{id}``; omitted or null fields stay unchanged."""

    model_config = ConfigDict(extra="ignore")

    text: BoundedText | None = None
    topics: TagList = None
    entities: TagList = None
    memory_type: MemoryTypeEnum | None = None
    namespace: str | None = Field(default=None, max_length=512)
    user_id: str | None = Field(default=None, max_length=512)
    session_id: str | None = Field(default=None, max_length=512)
    event_date: UTCDateTime | None = None
    pinned: JsonBool | None = None
    metadata: dict[str, Any] | None = None

    _text = field_validator("text")(text_not_blank)

    @field_validator("namespace", "user_id", "session_id")
    @classmethod
    def _scope_not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be empty")
        return value

    def changes(self) -> dict[str, Any]:
        """The fields the client set to a value."""
        return {k: v for k, v in self.model_dump(exclude_none=True).items()}


class DeleteMemoriesQuery(BaseModel):
    """Query of ``DELETE /long-term-memory``."""

    memory_ids: list[MemoryId] = Field(default_factory=list, max_length=1000)


class CompactQuery(BaseModel):
    """Query of ``POST /long-term-memory/compact``."""

    namespace: str | None = Field(default=None, max_length=512)
    user_id: str | None = Field(default=None, max_length=512)
    background: bool = False  # run on a worker; the answer names the task (GET /tasks/{id})

    @field_validator("namespace", "user_id", mode="before")
    @classmethod
    def _blank(cls, value: Any) -> Any:
        return None if value == "" else value
