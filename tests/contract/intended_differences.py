"""Every intended difference from AMS's wire schemas, in one place, each with its reason.

``test_ams_fields.py`` compares each model both servers have (same name, or renamed below)
field by field: presence, type, required-ness and default. A difference fails the test
unless it is listed here; an entry that no longer matches a real difference fails it too,
so this list always describes the server as it is.

Keys are ``(AMS model, field, aspect)`` with aspect ``missing``, ``type``, ``required`` or
``default``.
"""

from __future__ import annotations

# Our component name -> AMS's name for the same wire object.
RENAMED: dict[str, str] = {
    "PromptMessage": "Message",
    "ValidationErrorItem": "ValidationError",
    "TaskType": "TaskTypeEnum",
    "TaskStatus": "TaskStatusEnum",
    "SearchMode": "SearchModeEnum",
    "ForgetRequest": "Body_forget_endpoint_v1_long_term_memory_forget_post",
    "RunPartitionRequest": "RunSummaryViewPartitionRequest",
    # One record model accepts both of AMS's shapes (MemoryRecord and ClientMemoryRecord).
    "WorkingMemoryRecord": "MemoryRecord | ClientMemoryRecord",
}

_FILTER_FIELD = ("`field` is informational in AMS (the filter's own name); accepted and "
                 "ignored here, so it need not default to the field name")
_LENIENT_ID = "the server assigns a ULID when a client omits the id"
_ALWAYS_SENT = "always present in our responses; a default instead of required costs nothing"
_RECENCY = ("AMS's documented default stated in the schema; null still means that "
            "default, as in AMS")

DIFFERENCES: dict[tuple[str, str, str], str] = {
    **{(model, "field", aspect): _FILTER_FIELD
       for model in ("CreatedAt", "Entities", "EventDate", "ExtractionStrategy", "LastAccessed",
                     "MemoryType", "Namespace", "SessionId", "Topics", "UserId")
       for aspect in ("type", "default")},
    **{(model, "inclusive", "type"): "validated as one of the four values AMS's code accepts "
       "(AMS declares any string and fails later)"
       for model in ("CreatedAt", "EventDate", "LastAccessed")},
    ("MemoryType", "enum_class", "missing"): "AMS leaks an internal Python attribute into its "
    "schema; it has no wire meaning",
    ("ExtractedMemoryRecord", "id", "required"): _LENIENT_ID,
    ("SummaryView", "id", "required"): _ALWAYS_SENT,
    ("MemoryRecordResult", "dist", "required"): "0.0 for listings with no query vector; "
    "always serialized",
    ("MemoryRecordResult", "dist", "default"): "0.0 for listings with no query vector",
    ("TextContent", "type", "required"): _ALWAYS_SENT,
    ("TextContent", "type", "default"): _ALWAYS_SENT,
    ("TextContent", "annotations", "type"): "MCP annotations are passed through as an opaque "
    "object",
    ("SystemMessage", "content", "type"): "responses always use the TextContent form, which "
    "AMS clients already read",
    ("HTTPValidationError", "detail", "required"): "our 422 always carries the list",
    ("SearchRequest", "search_mode", "type"): "null (or omitted) means the server's "
    "DEFAULT_SEARCH_MODE setting",
    ("SearchRequest", "search_mode", "default"): "defaults to the DEFAULT_SEARCH_MODE setting "
    "(hybrid: docs/search-quality.md), not a hard-coded 'semantic'",
    ("SearchRequest", "text_scorer", "type"): "validated against the scorers RediSearch has "
    "(AMS passes any string to Redis and fails there)",
    **{("SearchRequest", f"recency_{name}", aspect): _RECENCY
       for name in ("semantic_weight", "recency_weight", "freshness_weight", "novelty_weight",
                    "half_life_last_access_days", "half_life_created_days")
       for aspect in ("default",)},
    ("Body_forget_endpoint_v1_long_term_memory_forget_post", "policy", "type"): "a typed "
    "policy object with the keys AMS reads, validated instead of an untyped dict",
    ("Message", "content", "type"): "the prompt only ever produces text; the other MCP "
    "content kinds never appear in our responses",
    ("RunSummaryViewPartitionRequest", "group", "required"): "an omitted group means the "
    "view's single partition ({}) for views without group_by",
    ("ValidationError", "ctx", "missing"): "422 entries omit pydantic's internal context "
    "(loc, msg, type and a small input are kept)",
    ("WorkingMemoryRequest", "model_name", "type"): "any model name is accepted (unknown "
    "names get DEFAULT_CONTEXT_WINDOW); AMS answers 422 to names outside its list",
}
