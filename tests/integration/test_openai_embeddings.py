"""The openai embedding provider against a real OpenAI-compatible HTTP server (the stub)."""

from __future__ import annotations

import numpy as np
import pytest

from agent_memory.embedded_redis import free_port
from agent_memory.embeddings import open_embedder
from agent_memory.embeddings.openai import OpenAIEmbedder
from agent_memory.errors import ServiceUnavailable, UpstreamError
from tests.conftest import make_settings
from tests.support.stub_openai import StubOpenAI


def _settings(base_url: str, **overrides: object) -> object:
    values: dict[str, object] = {
        "embedding_provider": "openai",
        "openai_api_base": base_url,
        "openai_api_key": "sk-test",
        "embedding_model": "stub-embed",
        "llm_max_retries": 0,
        "llm_timeout_seconds": 5,
    }
    values.update(overrides)
    return make_settings("redis://unused", **values)


def _embedding_requests(stub: StubOpenAI) -> list[dict[str, object]]:
    return [r for r in stub.requests if r["_path"] == "embeddings"]


async def test_unknown_model_size_is_asked_once_then_batches_split(
    stub_openai: StubOpenAI,
) -> None:
    """An unknown model's size is probed once; 1,100 texts go out as 512 + 512 + 76."""
    embedder = await open_embedder(_settings(stub_openai.base_url))
    try:
        assert embedder.dimensions == stub_openai.dims
        texts = [f"memory number {i}" for i in range(1100)]
        vectors = await embedder.embed(texts)
    finally:
        await embedder.aclose()
    requests = _embedding_requests(stub_openai)
    sizes = sorted(len(r["input"]) for r in requests)  # type: ignore[arg-type]
    assert sizes == [1, 76, 512, 512]
    assert vectors.shape == (1100, stub_openai.dims)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    # Order survives the split: the stub's vector is a function of the text.
    again = await OpenAIEmbedder(_settings(stub_openai.base_url)).embed([texts[700]])
    np.testing.assert_allclose(vectors[700], again[0], atol=1e-6)
    assert embedder.model_id == f"openai:stub-embed:{stub_openai.dims}"


async def test_base64_and_float_replies_give_the_same_vectors(stub_openai: StubOpenAI) -> None:
    """Vectors are asked for as base64; an endpoint answering float lists instead (it
    ignored the ask) gives the same vectors, in input order."""
    texts = ["first memory", "second memory", "third"]
    embedder = OpenAIEmbedder(_settings(stub_openai.base_url))
    try:
        packed = await embedder.embed(texts)
        stub_openai.honour_base64 = False
        plain = await embedder.embed(texts)
    finally:
        await embedder.aclose()
    assert {r["encoding_format"] for r in _embedding_requests(stub_openai)} == {"base64"}
    assert packed.shape == (3, stub_openai.dims)
    np.testing.assert_allclose(packed, plain, atol=1e-6)
    assert not np.allclose(packed[0], packed[1])


async def test_known_model_sends_shortened_dimensions(stub_openai: StubOpenAI) -> None:
    """text-embedding-3 models get ``dimensions`` when settings ask for a shorter vector."""
    embedder = OpenAIEmbedder(
        _settings(stub_openai.base_url, embedding_model="text-embedding-3-small",
                  embedding_dimensions=256)
    )
    try:
        vectors = await embedder.embed(["hello"])
    finally:
        await embedder.aclose()
    assert vectors.shape == (1, 256)
    assert _embedding_requests(stub_openai)[0]["dimensions"] == 256
    assert OpenAIEmbedder(_settings("http://x", embedding_model="text-embedding-3-large")
                          ).dimensions == 3072


async def test_error_answer_becomes_upstream_error(stub_openai: StubOpenAI) -> None:
    """A 4xx/5xx from the endpoint is an UpstreamError (502), not a crash."""
    stub_openai.fail_status = 400
    embedder = OpenAIEmbedder(_settings(stub_openai.base_url, embedding_dimensions=64))
    try:
        with pytest.raises(UpstreamError):
            await embedder.embed(["hello"])
    finally:
        await embedder.aclose()


async def test_wrong_vector_size_is_refused(stub_openai: StubOpenAI) -> None:
    """Vectors of another size than configured are an UpstreamError, never stored."""
    embedder = OpenAIEmbedder(_settings(stub_openai.base_url, embedding_dimensions=99))
    try:
        with pytest.raises(UpstreamError, match="99"):
            await embedder.embed(["hello"])
    finally:
        await embedder.aclose()


async def test_unreachable_endpoint_is_service_unavailable() -> None:
    """Nothing listening on the port: ServiceUnavailable (503)."""
    embedder = OpenAIEmbedder(
        _settings(f"http://127.0.0.1:{free_port()}/v1", embedding_dimensions=8)
    )
    try:
        with pytest.raises(ServiceUnavailable):
            await embedder.embed(["hello"])
    finally:
        await embedder.aclose()


async def test_long_texts_reach_the_endpoint_cut_to_the_token_limit(
    stub_openai: StubOpenAI,
) -> None:
    """A text past EMBEDDING_MAX_TOKENS is sent cut to that many tokens (the endpoint would
    refuse the whole batch otherwise); short texts in the same batch go out unchanged."""
    from agent_memory.tokenizer import encoding

    embedder = await open_embedder(_settings(stub_openai.base_url, embedding_max_tokens=300))
    try:
        long = "Ana moved to Porto in May and drinks oolong tea. " * 400
        vectors = await embedder.embed(["short one", long])
        assert vectors.shape[0] == 2
        sent = _embedding_requests(stub_openai)[-1]["input"]
        assert sent[0] == "short one"
        assert len(encoding().encode(sent[1])) == 300 and long.startswith(sent[1])
    finally:
        await embedder.aclose()
