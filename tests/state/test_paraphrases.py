"""The paraphrase cache's two lookups, one contract: a Redis vector index on a server with the query
engine, and the in-process comparison on a server without it (the session's plain Redis)."""

from __future__ import annotations

import asyncio
import uuid

import numpy as np
import pytest
import redis as redis_sync

from bot.state.cache import AnswerCache, cache_key
from bot.state.connection import connect
from bot.state.paraphrase import InProcessParaphrases, VectorIndexParaphrases
from bot.types import Answer, Audience
from tests.helpers import inquiry
from tests.state.conftest import make_bot, with_redis

BACKENDS = ["in-process", "vector-index"]


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def server_url(backend, request):
    """The server each lookup is meant for: vector search for the index, none for the list."""
    return request.getfixturevalue("redis_search_url" if backend == "vector-index" else "redis_url")


@pytest.fixture
def semantic_settings(sample_settings, server_url, backend):
    prefix = f"test-para-{uuid.uuid4().hex[:12]}:"
    settings = with_redis(sample_settings, prefix, url=server_url)
    settings = settings.model_copy(update={
        "cache": settings.cache.model_copy(update={"semantic": True, "semantic_min_similarity": 0.9}),
        "rate_limit": settings.rate_limit.model_copy(update={"enabled": False}),
    })
    yield settings
    client = redis_sync.Redis.from_url(server_url)
    for index in client.execute_command("FT._LIST") if backend == "vector-index" else []:
        if index.decode().startswith(prefix):
            client.ft(index.decode()).dropindex(delete_documents=True)
    keys = list(client.scan_iter(match=prefix + "*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
async def cache(semantic_settings):
    state = connect(semantic_settings)
    yield AnswerCache(state, semantic_settings.cache)
    await state.close()


def key_for(question: str, audience=Audience.PUBLIC, generation=1):
    return cache_key(question, audience, generation, "prompts-v1", "model")


def answer(text: str) -> Answer:
    return Answer(text=text, sources=[], grounded=True, answer_id=uuid.uuid4().hex,
                  prompt_version="prompts-v1", standalone_question=text, mode="extractive")


async def test_auto_picks_the_lookup_the_server_supports(cache, backend):
    chosen = await cache.paraphrases.chosen()
    expected = VectorIndexParaphrases if backend == "vector-index" else InProcessParaphrases
    assert type(chosen) is expected


async def test_a_paraphrase_finds_the_cached_answer_and_an_unrelated_question_does_not(cache, embeddings):
    questions = ["How long does a refund take?", "Do you ship to Canada?", "Can I change my order?"]
    for question, vector in zip(questions, embeddings.embed_documents(questions)):
        await cache.set(key_for(question), answer(f"about: {question}"), np.asarray(vector))
    paraphrase = "How long do refunds take?"
    found = await cache.get_paraphrase(key_for(paraphrase), np.asarray(embeddings.embed_query(paraphrase)))
    assert found is not None and found.text == "about: How long does a refund take?"
    unrelated = "What is the warranty on tents?"
    assert await cache.get_paraphrase(key_for(unrelated), np.asarray(embeddings.embed_query(unrelated))) is None


async def test_similarity_is_the_cosine_of_the_two_questions(cache, embeddings):
    first, second = "How long does a refund take?", "How long do refunds take?"
    vectors = np.asarray(embeddings.embed_documents([first, second]), np.float32)
    await cache.set(key_for(first), answer("a"), vectors[0])
    exact, similarity = await cache.paraphrases.nearest(key_for(second).scope, vectors[1])
    assert exact == key_for(first).exact
    assert similarity == pytest.approx(float(vectors[0] @ vectors[1]), abs=2e-3)  # fp16 list: coarser


async def test_it_never_looks_across_an_audience_or_a_generation(cache, embeddings):
    question = "How long does a refund take?"
    vector = np.asarray(embeddings.embed_query(question))
    await cache.set(key_for(question, Audience.STAFF), answer("staff answer"), vector)
    await cache.set(key_for(question, generation=2), answer("next generation"), vector)
    assert await cache.paraphrases.nearest(key_for(question).scope, vector) is None
    found = await cache.get_paraphrase(key_for("How long do refunds take?", Audience.STAFF), vector)
    assert found.text == "staff answer"


async def test_a_paraphrase_expires_with_its_answer(semantic_settings, embeddings):
    settings = semantic_settings.model_copy(update={"cache": semantic_settings.cache.model_copy(update={"ttl_s": 1})})
    state = connect(settings)
    cache = AnswerCache(state, settings.cache)
    vector = np.asarray(embeddings.embed_query("How long does a refund take?"))
    await cache.set(key_for("How long does a refund take?"), answer("a"), vector)
    assert await cache.get_paraphrase(key_for("How long do refunds take?"), vector) is not None
    await asyncio.sleep(1.6)
    assert await cache.get_paraphrase(key_for("How long do refunds take?"), vector) is None
    await state.close()


async def test_the_bot_answers_paraphrases_from_either_lookup(semantic_settings, embeddings):
    bot = make_bot(semantic_settings, embeddings)
    first = await bot.answer(inquiry("How long does a refund take?"))
    paraphrase = await bot.answer(inquiry("How long do refunds take?"))
    assert paraphrase.cached and paraphrase.text == first.text
    assert not (await bot.answer(inquiry("Do you ship to Canada?"))).cached
    assert not (await bot.answer(inquiry("How long do refunds take?", audience=Audience.STAFF))).cached
    await bot.close()
