"""The process-wide objects routes and tasks share, built once from settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from docket import Docket
from redis.asyncio import Redis
from redis.exceptions import RedisError

from agent_memory.clock import Clock
from agent_memory.embeddings.base import Embedder
from agent_memory.embeddings.factory import open_embedder
from agent_memory.llm import ChatModel, create_chat_model
from agent_memory.models.common import ReadinessResponse
from agent_memory.services.adjudication import ModelAdjudicator
from agent_memory.services.audit import AuditTrail
from agent_memory.services.background import Background, open_background
from agent_memory.services.deletion import DeletionTrail
from agent_memory.services.erase import (
    ERASE_TASK,
    LONG_TERM,
    EraseRegistry,
    EraseService,
    LongTermEraser,
    WorkingMemoryEraser,
)
from agent_memory.services.grants import GrantService
from agent_memory.services.ingestion import IngestionService, TaskCommand
from agent_memory.services.ingestion_jobs import JobRunner
from agent_memory.services.long_term import LongTermService
from agent_memory.services.profile import ProfileService
from agent_memory.services.prompt import PromptService
from agent_memory.services.provenance import ProvenanceLog
from agent_memory.services.purpose import PurposeClassifier, build_policy
from agent_memory.services.lifecycle import Lifecycle
from agent_memory.services.memories import MemoriesService
from agent_memory.services.recall import RecallService
from agent_memory.services.rollup import Summarizer
from agent_memory.services.summary_views import SummaryViewService
from agent_memory.services.trash import TrashService
from agent_memory.services.working_memory import WorkingMemoryService
from agent_memory.settings import Settings
from agent_memory.storage.audit import AuditStore
from agent_memory.storage.erase import UserDataStore
from agent_memory.storage.ingestion import IngestionStore
from agent_memory.storage.jobs import JobStore
from agent_memory.storage.long_term import LongTermStore, recorded_model
from agent_memory.storage.profile import ProfileStore
from agent_memory.storage.memories import MemoriesStore
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
    clock: Clock | None = None  # "now" for expiry and tiers (tests advance it)
    # --- memories door (issue 14); None when long-term memory is off ---
    memories: MemoriesService | None = None
    recall: RecallService | None = None
    lifecycle: Lifecycle | None = None
    summarizer: Summarizer | None = None
    # --- accountable forgetting (issue 16) ---
    trash: TrashService | None = None  # forget with a reason, restore, purge
    erase: EraseService | None = None  # erase a person (runs ``erasable`` in order)
    erasable: EraseRegistry = field(default_factory=EraseRegistry)
    # --- scoped profile memory (issue 15) ---
    profile: ProfileService | None = None
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
    profile_policy = build_policy(settings.profile_purpose_policy)  # fail before connecting
    # A worker's docket carries the clock of the process that opened it (tests share one).
    clock: Clock = getattr(docket, "clock", None) or Clock()
    redis = create_redis(settings)
    llm = create_chat_model(settings)
    wm_store = WorkingMemoryStore(redis)
    await wm_store.ensure_index()
    await wm_store.migrate_layout()
    working_memory = WorkingMemoryService(wm_store, settings, llm)
    embedder = None
    long_term = None
    if settings.long_term_memory:  # no model is loaded when long-term memory is off
        # Under EMBEDDING_PROVIDER=auto, a store embedded by an older offline model keeps it.
        index_model = await recorded_model(redis, settings.redisvl_index_name)
        embedder = await open_embedder(settings, index_model=index_model)
        lt_store = LongTermStore(redis, settings, embedder.dimensions, clock)
        await lt_store.ensure_index(embedder.model_id)  # IndexMismatch: run `reembed`
        long_term = LongTermService(lt_store, embedder, settings, llm)
    background = await open_background(settings, redis, llm, wm_store, long_term=long_term,
                                       docket=docket, clock=clock)
    working_memory.after_write = background.promotion.after_write
    working_memory.before_fold = background.promotion.park_folded
    working_memory.arm_seconds = background.promotion.arm_seconds
    working_memory.gives_work = background.promotion.gives_work
    working_memory.riders = background.promotion.riders
    if long_term is not None:
        long_term.on_accessed = background.on_accessed  # throttled update, off the request path
    prompt = PromptService(working_memory, long_term, settings)
    summary_views = SummaryViewService(SummaryViewStore(redis), long_term, llm, settings,
                                       background)
    audit = AuditTrail(AuditStore(redis, settings.audit_retention_days))
    provenance = ProvenanceLog(ProvenanceStore(redis))
    ingestion, ingestion_jobs = _ingestion(settings, redis, llm, working_memory, long_term,
                                           background, provenance)
    services = Services(settings=settings, redis=redis, llm=llm, working_memory=working_memory,
                        audit=audit, provenance=provenance, background=background,
                        prompt=prompt, embedder=embedder, long_term=long_term,
                        summary_views=summary_views, clock=clock,
                        profile=build_profile(settings, redis, llm, audit, profile_policy),
                        ingestion=ingestion, ingestion_jobs=ingestion_jobs)
    _wire_forgetting(services, background)
    assert services.profile is not None
    services.erasable.register("profile", services.profile.store)
    services.erasable.register("ingestion", ingestion)  # users, containers, jobs, turns
    if long_term is not None:
        _wire_memories(services, long_term, background.docket, clock)
    return services


def _wire_forgetting(services: Services, background: Background) -> None:
    """Soft delete, provenance, erase (issue 16). Other stores holding per-user data
    register on ``services.erasable`` after this (see services/erase.py)."""
    trail = DeletionTrail(services.audit, services.provenance)
    if services.long_term is not None:
        services.long_term.trail = trail
        services.long_term.provenance = services.provenance
    background.promotion.provenance = services.provenance
    services.working_memory.audit = services.audit
    services.trash = TrashService(services.long_term, trail, services.settings)
    user_data = UserDataStore(services.redis)
    docket = background.docket
    cancel = docket.cancel if docket is not None else None
    services.erasable.register("working_memory", WorkingMemoryEraser(user_data, cancel))
    if services.summary_views is not None:
        services.erasable.register("summary_views", services.summary_views.store)
    if services.long_term is not None:
        services.erasable.register(LONG_TERM, LongTermEraser(services.long_term,
                                                             services.provenance, user_data))
    enqueue = None
    if docket is not None:
        active = docket

        async def enqueue(task_id: str, namespace: str | None, user_id: str, subject: str,
                          reason: str | None) -> None:
            await active.add(ERASE_TASK, key=f"task:{task_id}")(task_id, namespace, user_id,
                                                                 subject, reason)

    services.erase = EraseService(services.erasable, user_data, services.audit,
                                  background.task_status, services.settings, enqueue)


def build_profile(settings: Settings, redis: Redis, llm: ChatModel | None, audit: AuditTrail,
                  policy: dict[str, list[str]]) -> ProfileService:
    """The profile door's service."""
    store = ProfileStore(redis)
    grants = GrantService(store, settings.profile_grant_ttl_seconds,
                          settings.profile_grant_retention_seconds)
    classifier = PurposeClassifier(llm, use_model=settings.profile_purpose_model,
                                   timeout_seconds=settings.profile_purpose_model_timeout_seconds)
    return ProfileService(store, grants, classifier, policy, audit)
def _wire_memories(services: Services, long_term: LongTermService, docket: Docket | None,
                   clock: Clock) -> None:
    """The memories door (issue 14): rows, recall, lifecycle passes, summaries."""
    store = MemoriesStore(long_term.store)
    schedule = None
    if docket is not None:
        active = docket

        async def schedule(memory_id: str, version: str) -> None:
            # Keyed by id and text version: a repeat for the same text is a no-op.
            await active.add("enrich_memory", key=f"enrich:{memory_id}:{version}")(memory_id)

    settings, llm, provenance = services.settings, services.llm, services.provenance
    services.memories = MemoriesService(long_term, store, settings, clock, llm, provenance,
                                        schedule)
    services.recall = RecallService(long_term, store, settings, clock)
    services.lifecycle = Lifecycle(long_term, store, settings, clock, provenance)
    services.summarizer = Summarizer(long_term, store, settings, clock, llm, provenance)


def _ingestion(settings: Settings, redis: Redis, llm: ChatModel | None,
               working_memory: WorkingMemoryService, long_term: LongTermService | None,
               background: Background,
               provenance: ProvenanceLog) -> tuple[IngestionService, JobRunner]:
    """Turn ingestion (issue 13): the accepting service and the job runner, which share the
    job store; jobs go to the Docket, or run before the answer when there is none."""
    store, jobs = IngestionStore(redis), JobStore(redis)
    model = ModelAdjudicator(llm, settings.generation_model) if llm is not None else None
    runner = JobRunner(settings, jobs, store, long_term, model, provenance)
    enqueue = run_inline = task_command = None
    docket = background.docket
    if docket is not None:
        active = docket

        async def enqueue(job_id: str) -> None:
            await active.add("ingest_turns", key=f"ingest:{job_id}")(job_id)

        from agent_memory.tasks._schedule import task_command as task_command_maker

        make = task_command_maker(docket, "ingest_turns", settings.effective_redis_url())
        if make is not None:
            def task_command(job_id: str) -> TaskCommand | None:
                return make(f"ingest:{job_id}", (job_id,))
    else:
        async def run_inline(job_id: str) -> None:
            await runner.run(job_id)
    service = IngestionService(settings, store, jobs, working_memory, long_term, enqueue,
                               run_inline, provenance, task_command)
    return service, runner

