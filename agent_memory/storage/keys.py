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
LAYOUT_MARKER_KEY = "am:wm-layout"  # the session layout every stored session is in


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


AUTH_TOKEN_PREFIX = "am:auth:token:"
AUTH_TOKEN_SET = "am:auth:tokens"  # exempt from TTLs: the listing of live token digests


def auth_token_key(digest: str) -> str:
    """The hash describing one bearer token, addressed by the SHA-256 digest of the secret."""
    return f"{AUTH_TOKEN_PREFIX}{digest}"


def parse_session_identity(identity: str) -> tuple[str | None, str | None, str]:
    """The ``(namespace, user_id, session_id)`` a :func:`session_identity` encodes."""
    from urllib.parse import unquote

    ns, user, session = identity.split("|")
    return (None if ns == "~" else unquote(ns), None if user == "~" else unquote(user),
            unquote(session))


# --- background work (tasks engineer) ---------------------------------------------------
TASK_STATUS_PREFIX = "am:task:"
TASK_STATUS_TTL_SECONDS = 7 * 24 * 3600


def task_status_key(task_id: str) -> str:
    """The JSON status of one client-requested background task (expires after 7 days)."""
    return f"{TASK_STATUS_PREFIX}{task_id}"


def folded_messages_key(namespace: str | None, user_id: str | None, session_id: str) -> str:
    """Hash of messages summarization folded away before promotion extracted them."""
    return f"am:folded:{{{session_identity(namespace, user_id, session_id)}}}"


def promotion_armed_key(namespace: str | None, user_id: str | None, session_id: str) -> str:
    """Marker that a promotion run is already scheduled for the session (TTL: half the
    debounce), so a burst of writes schedules it once instead of once per write."""
    return f"am:promote-armed:{{{session_identity(namespace, user_id, session_id)}}}"


def promotion_lock_key(namespace: str | None, user_id: str | None, session_id: str) -> str:
    """Lease held by the one promotion run of a session (short TTL, renewed while running)."""
    return f"am:promote-lock:{{{session_identity(namespace, user_id, session_id)}}}"


def extraction_result_key(batch_id: str) -> str:
    """The model's answer for one extraction batch, kept so a redelivery reuses it."""
    return f"am:extract:{batch_id}"


ACCESS_PENDING_KEY = "am:access:pending"
ACCESS_ARMED_KEY = "am:access:armed"  # a flush is scheduled (short TTL)
"""Set of long-term memory ids read since the last access-tracking flush (no TTL: drained)."""

COMPACTION_WATERMARK_KEY = "am:compact:watermark"
"""Epoch seconds up to which scheduled compaction has looked at changed memories (no TTL:
one small string, rewritten each run)."""


# --- long-term memory (LTM engineer) ----------------------------------------------------
def ltm_record_key(prefix: str, memory_id: str) -> str:
    """The hash of one long-term memory (AMS layout: ``memory_idx:<id>``)."""
    return f"{prefix}:{memory_id}"


def ltm_meta_key(index_name: str) -> str:
    """Hash recording the long-term index's schema version, embedding model and dimension
    (exempt from TTLs: it describes the index for as long as the index exists)."""
    return f"am:ltm:meta:{index_name}"


# --- summary views (prompt engineer) ------------------------------------------------------
SUMMARY_VIEWS_KEY = "am:sv:views"
"""Hash of summary-view configs by view id (exempt from TTLs: views live until deleted)."""


def summary_partitions_key(view_id: str) -> str:
    """Hash of one view's partition results (exempt from TTLs: deleted with the view)."""
    return f"am:sv:partitions:{quote(view_id, safe='')}"


# --- audit trail and provenance (issue 16) ------------------------------------------------
AUDIT_STREAM_KEY = "am:audit"
"""Append-only stream of audit events (exempt from TTLs: trimmed by age, see AuditStore)."""


def provenance_key(memory_id: str) -> str:
    """List of JSON provenance events of one memory (exempt from TTLs: removed with the
    memory when it is purged or erased)."""
    return f"am:prov:{memory_id}"


# --- soft delete and erase (issue 16) -----------------------------------------------------
TRASH_PREFIX = "am:trash:"
TRASH_DUE_KEY = "am:trash:due"
"""Sorted set of trashed memory ids scored by deletion time (exempt from TTLs: purge drains
it)."""


def trash_key(record_key: str) -> str:
    """Where a soft-deleted memory's hash waits for purge: outside the index prefix, so it
    leaves every search at once. The record key is the hash tag, so the RENAME stays in one
    cluster slot (exempt from TTLs: purged by the scheduled task after the grace period)."""
    return f"{TRASH_PREFIX}{{{record_key}}}"
