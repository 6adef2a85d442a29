"""Operator-facing signals: Prometheus metrics, request ids and the JSON access log.

``create_app`` wires :class:`RequestObserver` (outermost middleware) and the ``/metrics``
route; other code records through :mod:`agent_memory.observability.metrics` helpers.
"""

from __future__ import annotations

from agent_memory.observability import metrics
from agent_memory.observability.exposition import metrics_routes
from agent_memory.observability.logging import JsonFormatter, RequestIdFilter, current_request_id
from agent_memory.observability.metrics import Metrics
from agent_memory.observability.middleware import RequestObserver

__all__ = [
    "JsonFormatter",
    "Metrics",
    "RequestIdFilter",
    "RequestObserver",
    "current_request_id",
    "metrics",
    "metrics_routes",
]
