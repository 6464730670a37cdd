"""The answer cache through SupportBot, on the real Redis: hits, misses, isolation, stampedes."""

from __future__ import annotations

import asyncio

import pytest

from bot.types import Audience
from tests.conftest import STAFF_CANARY
from tests.fakes.anthropic_server import Echo, HttpError, Reply
from tests.helpers import inquiry
from tests.state.conftest import make_bot, with_redis

QUESTION = "Can I return an opened item after 30 days?"


@pytest.fixture
def settings(sample_settings, prefix):
    # One test user asks everything here; the rate limit has its own tests.
    settings = with_redis(sample_settings, prefix)
    return settings.model_copy(update={"rate_limit": settings.rate_limit.model_copy(update={"enabled": False})})


async def test_a_hit_returns_the_same_answer_without_retrieval_or_a_model_call(settings, embeddings, fake, monkeypatch):
    bot = make_bot(settings, embeddings, fake=fake)
    fake.queue(Reply("Opened items can't be returned after 30 days [1]."))
    first = await bot.answer(inquiry(QUESTION))
    assert first.mode == "generated" and not first.cached and len(fake.requests) == 1

    def no_retrieval(*args, **kwargs):
        raise AssertionError("a cache hit must not retrieve")

    monkeypatch.setattr(bot.retriever, "retrieve", no_retrieval)
    second = await bot.answer(inquiry("  can I return an OPENED item after 30 days  "))
    assert second.cached and second.text == first.text and second.sources == first.sources
    assert second.answer_id != first.answer_id  # buttons refer to each reply on its own
    assert len(fake.requests) == 1
    await bot.close()


async def test_the_cache_is_shared_between_workers(settings, embeddings, fake):
    one, two = make_bot(settings, embeddings, fake=fake), make_bot(settings, embeddings, fake=fake)
    fake.queue(Reply("Refunds take 5-10 business days [1]."))
    await one.answer(inquiry("How long does a refund take?"))
    answer = await two.answer(inquiry("How long does a refund take?"))
    assert answer.cached and len(fake.requests) == 1
    await one.close(), await two.close()


async def test_a_reindex_and_a_prompt_edit_both_miss(settings, embeddings, fake, prompts_copy, monkeypatch):
    settings = settings.model_copy(update={"prompts_dir": prompts_copy})
    bot = make_bot(settings, embeddings, fake=fake)
    fake.default = Reply("Refunds take 5-10 business days [1].")
    await bot.answer(inquiry("How long does a refund take?"))
    assert (await bot.answer(inquiry("How long does a refund take?"))).cached

    generation = bot.index.generation()
    monkeypatch.setattr(bot.index, "generation", lambda: generation + 1)
    assert not (await bot.answer(inquiry("How long does a refund take?"))).cached
    assert len(fake.requests) == 2

    system = prompts_copy / "system.md"
    system.write_text(system.read_text() + "\nAlways be brief.\n")
    assert not (await bot.answer(inquiry("How long does a refund take?"))).cached
    assert len(fake.requests) == 3
    await bot.close()


async def test_a_staff_answer_is_never_served_to_a_public_asker(settings, embeddings, fake):
    bot = make_bot(settings, embeddings, fake=fake)
    fake.default = Echo()  # the "answer" repeats every passage the model was shown
    question = "What is the exception code agents type for refund exceptions?"
    staff = await bot.answer(inquiry(question, audience=Audience.STAFF))
    assert STAFF_CANARY in staff.text
    public = await bot.answer(inquiry(question, audience=Audience.PUBLIC))
    assert not public.cached and STAFF_CANARY not in public.text
    assert all(STAFF_CANARY not in s.title + s.url for s in public.sources)
    await bot.close()


async def test_a_follow_up_is_cached_by_its_standalone_question_only(settings, embeddings):
    bot = make_bot(settings, embeddings)
    thread = "t-follow"
    await bot.answer(inquiry("How long is the warranty on tents?", thread=thread))
    follow_up = await bot.answer(inquiry("and what does it cover?", thread=thread))
    assert follow_up.standalone_question != "and what does it cover?"
    elsewhere = await bot.answer(inquiry("and what does it cover?"))  # a new thread: no history
    assert not elsewhere.cached or elsewhere.standalone_question == follow_up.standalone_question
    again = await bot.answer(inquiry(follow_up.standalone_question))
    assert again.cached and again.text == follow_up.text
    await bot.close()


async def test_fifty_identical_questions_at_once_make_one_model_call(settings, embeddings, fake):
    bot = make_bot(settings, embeddings, fake=fake)
    fake.default = Reply("Standard shipping takes 3-5 business days [1].", delay=0.01)
    answers = await asyncio.gather(*(bot.answer(inquiry("How long does standard shipping take?"))
                                     for _ in range(50)))
    assert len(fake.requests) == 1
    assert {a.text for a in answers} == {answers[0].text} and answers[0].mode == "generated"
    assert sum(not a.cached for a in answers) == 1
    assert len({a.answer_id for a in answers}) == 50
    await bot.close()


async def test_identical_questions_on_two_workers_make_one_model_call(settings, embeddings, fake):
    workers = [make_bot(settings, embeddings, fake=fake) for _ in range(2)]
    fake.default = Reply("Points expire after 18 months without activity [1].", delay=0.05)
    answers = await asyncio.gather(*(workers[i % 2].answer(inquiry("Do points expire?"))
                                     for i in range(20)))
    assert len(fake.requests) == 1 and len({a.text for a in answers}) == 1
    for bot in workers:
        await bot.close()


async def test_a_model_failure_is_not_cached(settings, embeddings, fake):
    bot = make_bot(settings, embeddings, fake=fake)
    fake.queue(HttpError(500, "api_error"), Reply("Refunds take 5-10 business days [1]."))
    first = await bot.answer(inquiry("How long does a refund take?"))
    assert first.mode == "extractive"
    second = await bot.answer(inquiry("How long does a refund take?"))
    assert second.mode == "generated" and not second.cached
    await bot.close()


async def test_the_semantic_cache_answers_paraphrases_only_when_enabled(settings, embeddings):
    plain = make_bot(settings, embeddings)
    await plain.answer(inquiry("How long does a refund take?"))
    assert not (await plain.answer(inquiry("How long do refunds take?"))).cached
    await plain.close()

    semantic = settings.model_copy(update={
        "cache": settings.cache.model_copy(update={"semantic": True, "semantic_min_similarity": 0.9}),
        "redis": settings.redis.model_copy(update={"key_prefix": settings.redis.key_prefix + "sem:"}),
    })
    bot = make_bot(semantic, embeddings)
    first = await bot.answer(inquiry("How long does a refund take?"))
    paraphrase = await bot.answer(inquiry("How long do refunds take?"))
    assert paraphrase.cached and paraphrase.text == first.text
    unrelated = await bot.answer(inquiry("Do you ship to Canada?"))
    assert not unrelated.cached
    staff = await bot.answer(inquiry("How long do refunds take?", audience=Audience.STAFF))
    assert not staff.cached  # another audience is another scope
    await bot.close()
