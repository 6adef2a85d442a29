"""Chat models through the ``openai`` client against any OpenAI-compatible endpoint."""

from __future__ import annotations

import logging
from typing import Any

import openai
from openai import AsyncOpenAI

from agent_memory.errors import ServiceUnavailable, UpstreamError
from agent_memory.observability.metrics import observe_llm_call
from agent_memory.settings import Settings

log = logging.getLogger(__name__)

# Context windows of well-known models, by longest matching prefix. Any other name is
# accepted (AMS answers 422 to names outside its list) and gets the default window.
_WINDOWS: dict[str, int] = {
    "gpt-3.5-turbo": 16385,
    "gpt-4": 8192,
    "gpt-4-32k": 32768,
    "gpt-4-turbo": 128000,
    "gpt-4o": 128000,
    "gpt-4.1": 1047576,
    "gpt-5": 400000,
    "o1": 200000,
    "o3": 200000,
    "o4": 200000,
    "claude": 200000,
    "text-embedding": 8191,
}


def model_window(model_name: str | None) -> int | None:
    """The context window of a known model family, or ``None``."""
    if not model_name:
        return None
    best = ""
    for prefix in _WINDOWS:
        if model_name.startswith(prefix) and len(prefix) > len(best):
            best = prefix
    return _WINDOWS[best] if best else None


def openai_client(settings: Settings) -> AsyncOpenAI:
    """An ``AsyncOpenAI`` client for the configured endpoint, with timeouts and retries from
    settings (chat and embeddings share this configuration)."""
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else "unused"
    return AsyncOpenAI(
        api_key=key,
        base_url=settings.openai_api_base,
        timeout=settings.llm_timeout_seconds,
        max_retries=settings.llm_max_retries,
    )


class ChatModel:
    """One ``AsyncOpenAI`` client for the process, with timeouts and retries from settings."""

    def __init__(self, settings: Settings) -> None:
        self.client = openai_client(settings)
        self.generation_model = settings.generation_model
        self.fast_model = settings.fast_model

    async def complete(
        self,
        messages: list[dict[str, Any]],
        *,
        model: str | None = None,
        json_mode: bool = False,
        max_tokens: int | None = None,
    ) -> str:
        """One chat completion; returns the text of the first choice.

        Raises:
            ServiceUnavailable: the endpoint timed out or could not be reached.
            UpstreamError: the endpoint answered with an error.
        """
        text, _ = await self.complete_with_usage(messages, model=model, json_mode=json_mode,
                                                 max_tokens=max_tokens)
        return text

    async def complete_with_usage(
        self,
        messages: list[dict[str, Any]],
        *,
        model: str | None = None,
        json_mode: bool = False,
        max_tokens: int | None = None,
    ) -> tuple[str, dict[str, int]]:
        """:meth:`complete`, plus the usage the endpoint reported (``prompt_tokens``,
        ``completion_tokens``; empty when it reported none)."""
        kwargs: dict[str, Any] = {"model": model or self.generation_model, "messages": messages}
        if json_mode:
            kwargs["response_format"] = {"type": "json_object"}
        if max_tokens is not None:
            kwargs["max_tokens"] = max_tokens
        try:
            with observe_llm_call(kwargs["model"]):
                response = await self.client.chat.completions.create(**kwargs)
        except (openai.APITimeoutError, openai.APIConnectionError) as exc:
            raise ServiceUnavailable(f"model endpoint unreachable: {exc}") from exc
        except openai.APIError as exc:
            raise UpstreamError(f"model endpoint error: {exc}") from exc
        if not response.choices:
            raise UpstreamError("model endpoint returned no choices")
        usage: dict[str, int] = {}
        if response.usage is not None:
            usage = {"prompt_tokens": response.usage.prompt_tokens or 0,
                     "completion_tokens": response.usage.completion_tokens or 0}
        return response.choices[0].message.content or "", usage

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self.client.close()


def create_chat_model(settings: Settings) -> ChatModel | None:
    """A chat model when an endpoint is configured, else ``None`` (deterministic fallbacks)."""
    return ChatModel(settings) if settings.llm_configured else None
