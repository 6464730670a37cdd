"""Thread memory and durable records on the real Redis."""

from __future__ import annotations

import asyncio

import pytest

from bot.settings import MemorySettings
from bot.state.memory import ConversationMemory
from bot.types import ConversationKey, ThreadPages, Turn
from tests.helpers import inquiry
from tests.state.conftest import make_bot, with_redis

THREAD = ConversationKey("slack", "C1", "1700000000.000100")


async def test_memory_keeps_the_newest_turns_within_both_limits(redis_state, raw_redis):
    memory = ConversationMemory(redis_state, MemorySettings(max_turns=4, max_chars=60, ttl_s=120))
    for n in range(5):
        await memory.append(THREAD, Turn("user", f"question {n}"), Turn("assistant", f"answer {n}"))
    assert [t.text for t in await memory.load(THREAD)] == ["question 3", "answer 3", "question 4", "answer 4"]

    await memory.append(THREAD, Turn("user", "x" * 50), Turn("assistant", "y" * 30))
    kept = await memory.load(THREAD)
    assert [t.text for t in kept] == ["y" * 30]  # 50 + 30 > 60: only the newest fits
    assert raw_redis.llen(memory._key(THREAD)) == 4  # stored turns are capped too


async def test_memory_keeps_what_each_answer_cited_and_reads_turns_stored_before(redis_state, raw_redis):
    memory = ConversationMemory(redis_state, MemorySettings(max_turns=6, max_chars=1000, ttl_s=120))
    raw_redis.rpush(memory._key(THREAD), '{"role": "user", "text": "an old turn"}')  # stored without sources
    await memory.append(THREAD, Turn("user", "How do returns work?"),
                        Turn("assistant", "Within 30 days [1].", sources=("returns-policy", "shipping"),
                             consulted=("returns-policy", "warranty", "shipping")))
    old, question, answer = await memory.load(THREAD)
    assert old == Turn("user", "an old turn") and question.sources == question.consulted == ()
    assert answer.sources == ("returns-policy", "shipping")
    assert answer.consulted == ("returns-policy", "warranty", "shipping")


async def test_memory_expires_with_its_ttl_renewed_on_each_turn(redis_state, raw_redis):
    memory = ConversationMemory(redis_state, MemorySettings(max_turns=4, max_chars=1000, ttl_s=120))
    await memory.append(THREAD, Turn("user", "hello"))
    key = memory._key(THREAD)
    assert 100 < raw_redis.ttl(key) <= 120
    raw_redis.expire(key, 1)
    await memory.append(THREAD, Turn("assistant", "hi"))
    assert raw_redis.ttl(key) > 100
    raw_redis.pexpire(key, 1)
    await asyncio.sleep(0.05)
    assert await memory.load(THREAD) == []


async def test_a_follow_up_uses_the_thread_memory_across_workers(sample_settings, prefix, embeddings):
    settings = with_redis(sample_settings, prefix)
    first, second = make_bot(settings, embeddings), make_bot(settings, embeddings)
    await first.answer(inquiry("How long is the warranty on tents?", thread="t1"))
    follow_up = await second.answer(inquiry("and what does it cover?", thread="t1"))
    assert "warranty" in follow_up.standalone_question.lower()
    assert [t.role for t in await second.history(follow_up_key("t1"))] == ["user", "assistant"] * 2
    await first.close(), await second.close()


async def test_a_reply_is_ranked_with_the_pages_the_thread_s_answers_drew_on(sample_settings, prefix, embeddings):
    settings = with_redis(sample_settings, prefix)
    bot = make_bot(settings, embeddings)
    first = await bot.answer(inquiry("How long is the warranty on tents?", thread="t3"))
    assert first.sources
    remembered = (await bot.history(follow_up_key("t3")))[-1]
    assert remembered.role == "assistant" and remembered.sources == first.cited_documents()
    assert len(remembered.consulted) == 3 and first.cited_documents()[0] in remembered.consulted
    seen = []
    retrieve = bot.retriever.retrieve
    bot.retriever.retrieve = lambda *args, **kwargs: seen.append(kwargs.get("thread")) or retrieve(*args, **kwargs)
    await bot.answer(inquiry("and what does it cover?", thread="t3"))
    assert seen == [ThreadPages(cited=first.cited_documents(), consulted=remembered.consulted)]
    await bot.close()


def follow_up_key(thread: str) -> ConversationKey:
    return inquiry("x", thread=thread).conversation


async def test_escalations_and_answers_survive_a_restart(sample_settings, prefix, embeddings, raw_redis):
    settings = with_redis(sample_settings, prefix)
    before = make_bot(settings, embeddings)
    answer = await before.answer(inquiry("How do I return an item?", thread="t2"))
    await before.close()

    after = make_bot(settings, embeddings)  # a new process: only Redis remembers
    conversation, found = await after.records.find_answer(answer.answer_id)
    assert conversation == follow_up_key("t2") and found.text == answer.text
    escalation = await after.escalate(conversation, requested_by="U42", answer_id=answer.answer_id)
    assert escalation.question == "How do I return an item?"
    assert escalation.last_answer.answer_id == answer.answer_id
    await after.close()

    again = make_bot(settings, embeddings)
    assert await again.is_escalated(conversation)
    resolved = await again.resolve(escalation.escalation_id, resolved_by="U-staff")
    assert resolved.resolved_by == "U-staff" and not await again.is_escalated(conversation)
    log = raw_redis.xrange(settings.redis.key_prefix + "log:escalations")
    assert [entry[b"event"] for _, entry in log] == [b"opened", b"resolved"]
    await again.close()


async def test_simultaneous_hand_overs_and_resolutions_settle_on_one(sample_settings, prefix, embeddings):
    settings = with_redis(sample_settings, prefix)
    bots = [make_bot(settings, embeddings) for _ in range(2)]
    conversation = follow_up_key("t3")
    opened = await asyncio.gather(*(bots[i % 2].escalate(conversation, requested_by=f"U{i}")
                                    for i in range(6)))
    assert len({e.escalation_id for e in opened}) == 1
    resolved = await asyncio.gather(*(bots[i % 2].resolve(opened[0].escalation_id, f"S{i}")
                                      for i in range(4)))
    assert len({e.resolved_by for e in resolved}) == 1
    for bot in bots:
        await bot.close()


async def test_feedback_is_one_vote_per_user_and_logged(sample_settings, prefix, embeddings, raw_redis):
    settings = with_redis(sample_settings, prefix)
    bot = make_bot(settings, embeddings)
    answer = await bot.answer(inquiry("How long does a refund take?"))
    await bot.feedback(answer.answer_id, helpful=False, user_id="U1")
    await bot.feedback(answer.answer_id, helpful=True, user_id="U1")
    await bot.feedback(answer.answer_id, helpful=True, user_id="U2")
    votes = await bot.records.feedback_for(answer.answer_id)
    assert sorted((v.user_id, v.helpful) for v in votes) == [("U1", True), ("U2", True)]
    assert all(v.prompt_version == answer.prompt_version for v in votes)
    assert await bot.feedback("no-such-answer", helpful=True, user_id="U1") is None
    log = raw_redis.xrange(settings.redis.key_prefix + "log:feedback")
    assert len(log) == 3 and log[0][1][b"helpful"] == b"0"
    await bot.close()


async def test_after_an_answer_memory_and_record_are_written_in_one_round_trip(sample_settings, prefix,
                                                                               embeddings, raw_redis):
    settings = with_redis(sample_settings, prefix)
    settings = settings.model_copy(update={"cache": settings.cache.model_copy(update={"enabled": False})})
    bot = make_bot(settings, embeddings)
    operations = []
    run = bot.state.redis.run

    async def counting(operation):
        operations.append(operation)
        return await run(operation)

    bot.state.redis.run = counting
    answer = await bot.answer(inquiry("How do I return an item?", thread="t5"))
    written = len(operations)
    operations.clear()
    await bot.state.remember_answer(follow_up_key("t6"), (Turn("user", "q"), Turn("assistant", "a")), answer,
                                    audience=answer.audience, tenant=None)
    assert len(operations) == 1  # one pipeline: the turns, the record and the log line
    assert [t.text for t in await bot.history(follow_up_key("t6"))] == ["q", "a"]
    assert [t.role for t in await bot.history(follow_up_key("t5"))] == ["user", "assistant"]
    conversation, found = await bot.records.find_answer(answer.answer_id)
    assert conversation == follow_up_key("t6") and found.text == answer.text  # the later write won
    log = raw_redis.xrange(settings.redis.key_prefix + "log:answers")
    assert [entry[b"answer_id"].decode() for _, entry in log] == [answer.answer_id] * 2
    assert written == 3  # the rate limit, the thread's memory, one write after the answer (was two)
    await bot.close()


async def test_a_failed_write_after_an_answer_still_returns_the_answer(sample_settings, prefix, embeddings,
                                                                      monkeypatch):
    bot = make_bot(with_redis(sample_settings, prefix), embeddings)

    async def refused(*args, **kwargs):
        raise ConnectionError("Redis refused the write")

    monkeypatch.setattr(bot.state, "remember_answer", refused)
    answer = await bot.answer(inquiry("How do I return an item?", thread="t7"))
    assert answer.text and answer.grounded
    await bot.close()
