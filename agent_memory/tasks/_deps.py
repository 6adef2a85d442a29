"""How tasks get their resources: a Docket that carries settings, and per-worker services.

A task declares ``services: Services = WorkerServices()``. The first task a worker runs
builds one :class:`~agent_memory.services.container.Services` from the settings its docket
was opened with (Docket's ``Shared``: once per worker, closed when the worker stops); every
later task of that worker reuses it. No module-level state, nothing to monkeypatch: a test
opens a docket with its own settings and the worker's tasks use exactly those.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from docket import CurrentDocket, Docket, Shared

from agent_memory.clock import Clock
from agent_memory.settings import Settings

if TYPE_CHECKING:
    from agent_memory.services.container import Services


class MemoryDocket(Docket):
    """The server's Docket: named and located by settings, which it carries for workers.

    Args:
        settings: Server settings (``DOCKET_NAME``, the Redis URL, everything tasks need).
        tasks: Task functions to register, so they can be scheduled by name.
    """

    def __init__(self, settings: Settings, tasks: Iterable[Callable[..., Any]] = (),
                 clock: Clock | None = None) -> None:
        super().__init__(name=settings.docket_name, url=settings.effective_redis_url())
        self.settings = settings
        # The clock of the process that opened this docket: its workers' services use it
        # too, so expiry and tiers agree between an API and the workers it shares it with.
        self.clock = clock or Clock()
        for task in tasks:
            self.register(task)


@asynccontextmanager
async def _worker_services(docket: Docket = CurrentDocket()) -> AsyncIterator[Services]:
    from agent_memory.services.container import build_services

    if not isinstance(docket, MemoryDocket):
        raise TypeError("tasks need a MemoryDocket (open it with open_docket(settings))")
    services = await build_services(docket.settings, docket=docket)
    try:
        yield services
    finally:
        await services.aclose()


def WorkerServices() -> Services:  # noqa: N802 (reads like Docket's own dependencies)
    """Dependency: the services of the worker running the task, built once per worker."""
    return Shared(_worker_services)
