"""The preparation pool: retrieval runs on threads of its own (not asyncio's default executor,
which LangChain's streaming hops through), with the caller's context, in arrival order, and a
cancelled question's retrieval that has not started is dropped."""

from __future__ import annotations

import asyncio
import contextvars
import threading

from bot.answering.preparation import PreparationPool
from bot.knowledge.batching import BatchedQueryEmbeddings
from tests.helpers import build_test_bot, inquiry

tenant = contextvars.ContextVar("tenant", default=None)


async def test_work_runs_on_the_pools_threads_with_the_callers_context():
    pool = PreparationPool(2)
    tenant.set("team-a")
    name, seen = await pool.run(lambda: (threading.current_thread().name, tenant.get()))
    assert name.startswith("prepare") and seen == "team-a"
    pool.close()


async def test_questions_are_prepared_in_arrival_order():
    pool = PreparationPool(1)
    order: list[int] = []
    await asyncio.gather(*(pool.run(order.append, n) for n in range(20)))
    assert order == list(range(20))
    pool.close()


async def test_a_cancelled_question_that_has_not_started_is_dropped():
    pool = PreparationPool(1)
    release, ran = threading.Event(), []
    busy = asyncio.ensure_future(pool.run(release.wait, 5))
    waiting = asyncio.ensure_future(pool.run(ran.append, "cancelled"))
    await asyncio.sleep(0.05)
    waiting.cancel()
    await asyncio.sleep(0.05)  # the cancellation reaches the pool's queue on the next loop turns
    release.set()
    assert await busy is True
    await asyncio.sleep(0.05)
    assert await pool.run(ran.append, "later") is None
    assert ran == ["later"]
    pool.close()


async def test_the_bot_retrieves_on_the_preparation_pool_through_the_query_batcher(sample_settings, embeddings):
    bot = build_test_bot(sample_settings, embeddings)
    threads: list[str] = []
    retrieve = bot.retriever.retrieve

    def recording(*args, **kwargs):
        threads.append(threading.current_thread().name)
        return retrieve(*args, **kwargs)

    bot.retriever.retrieve = recording
    questions = ("Can I return sale items?", "How long does a refund take?", "Do you ship to Canada?")
    answers = await asyncio.gather(*(bot.answer(inquiry(question)) for question in questions))
    assert all(a.mode == "extractive" for a in answers)
    assert len(threads) == 3 and all(name.startswith("prepare") for name in threads)
    assert isinstance(bot.embeddings, BatchedQueryEmbeddings)
    assert bot.embeddings.batcher.items_run >= 3  # the questions' texts went through the batcher
    await bot.close()


async def test_a_lone_question_is_embedded_once_awaited_on_the_event_loop(sample_settings, embeddings):
    """The question's text waits for its batch on the event loop (no preparation thread held), and
    the search on the pool uses that vector instead of embedding the question again."""
    bot = build_test_bot(sample_settings, embeddings)
    batcher = bot.embeddings.batcher
    enqueued_from: list[str] = []
    enqueue = batcher._enqueue

    def recording(item, *, wait):
        enqueued_from.append((item, threading.current_thread().name))
        return enqueue(item, wait=wait)

    batcher._enqueue = recording
    questions = ("Can I return sale items?", "How long does a refund take?", "Do you ship to Canada?")
    answers = await asyncio.gather(*(bot.answer(inquiry(question)) for question in questions))
    assert all(a.mode == "extractive" and a.sources for a in answers)
    # Each question's text: once, from the loop's thread (the extractive answer then embeds its
    # passages' sentences on the pool, as before).
    loop_thread = threading.current_thread().name
    assert sorted(item for item, _ in enqueued_from if item in questions) == sorted(questions)
    assert {name for item, name in enqueued_from if item in questions} == {loop_thread}
    assert all(a.timings_ms["embed"] > 0 for a in answers)
    await bot.close()


async def test_a_follow_up_with_thread_context_is_embedded_by_the_retrieval(sample_settings, embeddings):
    bot = build_test_bot(sample_settings, embeddings)
    thread = "t-follow-up"
    await bot.answer(inquiry("Can I return an opened tent?", thread=thread))
    # The message and the message with its thread: two texts, embedded from the pool's thread.
    enqueue, seen = bot.embeddings.batcher._enqueue, []
    bot.embeddings.batcher._enqueue = lambda item, *, wait: seen.append(
        (item, threading.current_thread().name)) or enqueue(item, wait=wait)
    answer = await bot.answer(inquiry("and for a sleeping bag?", thread=thread))
    # The question's texts (an answered question's passages may name sleeping bags too).
    asked = [(item, name) for item, name in seen if "for a sleeping bag?" in item]
    assert len(asked) == 2 and all(name.startswith("prepare") for _, name in asked)
    await bot.close()
