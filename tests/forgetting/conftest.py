"""Fixtures for accountable forgetting: the task stack (app, Docket, real workers)."""

from __future__ import annotations

from tests.tasks.conftest import stack  # noqa: F401 - re-exported fixture
