"""The prompt-assembly route (AMS route 13): a ready-to-send prompt from memory."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from agent_memory.api._http import ModelResponse, endpoint, principal_of
from agent_memory.models.prompt import MemoryPromptRequest, MemoryPromptResponse, PromptQuery
from agent_memory.services.prompt import PromptService

TAGS = ("prompt",)


def _service(request: Request) -> PromptService:
    return request.state.services.prompt


@endpoint("POST", "/memory/prompt", summary="Assemble a prompt from memory",
          body=MemoryPromptRequest, query=PromptQuery, response=MemoryPromptResponse, tags=TAGS,
          extra_responses={400: "Neither session nor long_term_search, or the query alone is "
                                "over the token budget"})
async def memory_prompt(request: Request, body: MemoryPromptRequest,
                        query: PromptQuery) -> ModelResponse:
    """Summary, recent messages and relevant memories, then the query, within a token budget.

    The ``X-Prompt-Tokens`` and ``X-Prompt-Token-Budget`` headers repeat the response's
    ``tokens_used`` and ``token_budget``.
    """
    out = await _service(request).prompt(principal_of(request), body, query.optimize_query)
    return ModelResponse(out, headers={"X-Prompt-Tokens": str(out.tokens_used),
                                       "X-Prompt-Token-Budget": str(out.token_budget)})


routes: list[Route] = [memory_prompt]
