"""Docket tasks: all background work of the server (promotion, extraction, forgetting, ...).

``task_collection`` is what workers register (``agent-memory worker``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

task_collection: list[Callable[..., Any]] = []
