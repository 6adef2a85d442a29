"""Every Redis key name the server writes comes from here.

Session keys encode namespace, user and session as three separately escaped parts, so
``(ns="a", user=None, session="s")`` and ``(ns=None, user="a", session="s")`` can never map
to the same key (AMS's ``working_memory:a:s`` is ambiguous between the two). The identity sits
inside a hash tag ``{...}`` so that a session's keys share one cluster slot.
"""

from __future__ import annotations

from urllib.parse import quote

WORKING_MEMORY_PREFIX = "am:wm:"
WORKING_MEMORY_INDEX = "am_working_memory"


def _part(value: str | None) -> str:
    # "~" marks "absent"; quote() leaves "~" alone, so escape it explicitly.
    if value is None:
        return "~"
    return quote(value, safe="").replace("~", "%7E")


def session_identity(namespace: str | None, user_id: str | None, session_id: str) -> str:
    """An unambiguous, reversible identity for one session's scope."""
    return f"{_part(namespace)}|{_part(user_id)}|{_part(session_id)}"


def working_memory_key(namespace: str | None, user_id: str | None, session_id: str) -> str:
    """The hash that holds one session (meta fields, messages, structured memories)."""
    return f"{WORKING_MEMORY_PREFIX}{{{session_identity(namespace, user_id, session_id)}}}"


def promotion_key(namespace: str | None, user_id: str | None, session_id: str) -> str:
    """Docket task key for a session's debounced promotion (scoped by tenant, not just id)."""
    return f"promote:{session_identity(namespace, user_id, session_id)}"
