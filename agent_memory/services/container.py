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
from agent_memory.services.audit import AuditTrail
from agent_memory.services.background import Background, open_background
from agent_memory.services.long_term import LongTermService
from agent_memory.services.prompt import PromptService
from agent_memory.services.provenance import ProvenanceLog
from agent_memory.services.summary_views import SummaryViewService
from agent_memory.services.working_memory import WorkingMemoryService
from agent_memory.settings import Settings
from agent_memory.storage.audit import AuditStore
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
    return Services(settings=settings, redis=redis, llm=llm, working_memory=working_memory,
                    audit=AuditTrail(AuditStore(redis, settings.audit_retention_days)),
                    provenance=ProvenanceLog(ProvenanceStore(redis)),
                    background=background,
                    prompt=prompt, embedder=embedder, long_term=long_term,
                    summary_views=summary_views)
