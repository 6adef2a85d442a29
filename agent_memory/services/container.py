"""The process-wide objects routes and tasks share, built once from settings."""

from __future__ import annotations

from dataclasses import dataclass

from docket import Docket
from redis.asyncio import Redis
from redis.exceptions import RedisError

from agent_memory.embeddings.base import Embedder
from agent_memory.embeddings.factory import open_embedder
from agent_memory.llm import ChatModel, create_chat_model
from agent_memory.models.common import ReadinessResponse
from agent_memory.services.adjudication import ModelAdjudicator
from agent_memory.services.audit import AuditTrail
from agent_memory.services.background import Background, open_background
from agent_memory.services.ingestion import IngestionService
from agent_memory.services.ingestion_jobs import JobRunner
from agent_memory.services.long_term import LongTermService
from agent_memory.services.prompt import PromptService
from agent_memory.services.provenance import ProvenanceLog
from agent_memory.services.summary_views import SummaryViewService
from agent_memory.services.working_memory import WorkingMemoryService
from agent_memory.settings import Settings
from agent_memory.storage.audit import AuditStore
from agent_memory.storage.ingestion import IngestionStore
from agent_memory.storage.jobs import JobStore
from agent_memory.storage.long_term import LongTermStore
from agent_memory.storage.provenance import ProvenanceStore
from agent_memory.storage.redis import close_redis, create_redis
from agent_memory.storage.summary_views import SummaryViewStore
from agent_memory.storage.working_memory import WorkingMemoryStore


@dataclass
class Services:
    """Singletons of one process (API or worker). Built by :func:`build_services`."""

    settings: Settings
    redis: Redis
    llm: ChatModel | None
    working_memory: WorkingMemoryService
    prompt: PromptService
    audit: AuditTrail
    provenance: ProvenanceLog
    background: Background | None = None  # Docket, promotion, forgetting, task status
    embedder: Embedder | None = None
    long_term: LongTermService | None = None  # None when LONG_TERM_MEMORY is off
    summary_views: SummaryViewService | None = None
    # --- turn ingestion (issue 13) ---
    ingestion: IngestionService | None = None
    ingestion_jobs: JobRunner | None = None

    async def readiness(self) -> ReadinessResponse:
        """Whether Redis and each index answer."""
        try:
            await self.redis.ping()
        except RedisError as exc:
            return ReadinessResponse(ready=False, redis=False, indexes={}, detail=str(exc))
        indexes = {"working_memory": await self.working_memory.store.index_ready()}
        if self.long_term is not None:
            indexes["long_term"] = await self.long_term.store.index_ready()
        return ReadinessResponse(ready=all(indexes.values()), redis=True, indexes=indexes)

    async def aclose(self) -> None:
        """Close every client this container owns."""
        if self.background is not None:
            await self.background.aclose()
        if self.llm is not None:
            await self.llm.aclose()
        if self.embedder is not None:
            await self.embedder.aclose()
        await close_redis(self.redis)


async def build_services(settings: Settings, *, docket: Docket | None = None) -> Services:
    """Connect to Redis, make sure indexes exist, and wire the services together.

    A worker passes the Docket it serves; the API opens its own (``USE_DOCKET``).
    """
    redis = create_redis(settings)
    llm = create_chat_model(settings)
    wm_store = WorkingMemoryStore(redis)
    await wm_store.ensure_index()
    await wm_store.migrate_layout()
    working_memory = WorkingMemoryService(wm_store, settings, llm)
    embedder = None
    long_term = None
    if settings.long_term_memory:  # no model is loaded when long-term memory is off
        embedder = await open_embedder(settings)
        lt_store = LongTermStore(redis, settings, embedder.dimensions)
        await lt_store.ensure_index(embedder.model_id)  # IndexMismatch: run `reembed`
        long_term = LongTermService(lt_store, embedder, settings, llm)
    background = await open_background(settings, redis, llm, wm_store, long_term=long_term,
                                       docket=docket)
    working_memory.after_write = background.promotion.after_write
    working_memory.before_fold = background.promotion.park_folded
    working_memory.arm_seconds = background.promotion.arm_seconds
    if long_term is not None:
        long_term.on_accessed = background.on_accessed  # throttled update, off the request path
    prompt = PromptService(working_memory, long_term, settings)
    summary_views = SummaryViewService(SummaryViewStore(redis), long_term, llm, settings,
                                       background)
    audit = AuditTrail(AuditStore(redis, settings.audit_retention_days))
    provenance = ProvenanceLog(ProvenanceStore(redis))
    ingestion, ingestion_jobs = _ingestion(settings, redis, llm, working_memory, long_term,
                                           background, audit, provenance)
    return Services(settings=settings, redis=redis, llm=llm, working_memory=working_memory,
                    audit=audit, provenance=provenance,
                    background=background,
                    prompt=prompt, embedder=embedder, long_term=long_term,
                    summary_views=summary_views,
                    ingestion=ingestion, ingestion_jobs=ingestion_jobs)


def _ingestion(settings: Settings, redis: Redis, llm: ChatModel | None,
               working_memory: WorkingMemoryService, long_term: LongTermService | None,
               background: Background, audit: AuditTrail,
               provenance: ProvenanceLog) -> tuple[IngestionService, JobRunner]:
    """Turn ingestion (issue 13): the accepting service and the job runner, which share the
    job store; jobs go to the Docket, or run before the answer when there is none."""
    store, jobs = IngestionStore(redis), JobStore(redis)
    model = ModelAdjudicator(llm, settings.generation_model) if llm is not None else None
    runner = JobRunner(settings, jobs, store, long_term, model, provenance, audit)
    enqueue = run_inline = None
    docket = background.docket
    if docket is not None:
        active = docket

        async def enqueue(job_id: str) -> None:
            await active.add("ingest_turns", key=f"ingest:{job_id}")(job_id)
    else:
        async def run_inline(job_id: str) -> None:
            await runner.run(job_id)
    service = IngestionService(settings, store, jobs, working_memory, long_term, enqueue,
                               run_inline, provenance)
    return service, runner
