"""Event dedupe, the per-user rate limit and the one-at-a-time reindex, on the real Redis."""

from __future__ import annotations

import asyncio
import threading

import pytest

from bot.knowledge.indexer import IndexSummary
from bot.knowledge.reindex_job import ReindexBusy, run_reindex_job
from bot.settings import RateLimitSettings
from bot.state.guards import Lock, RateLimiter
from bot.types import Inquiry
from tests.helpers import inquiry
from tests.state.conftest import make_bot, with_redis


async def test_a_duplicate_event_gets_one_reply(sample_settings, prefix, embeddings):
    settings = with_redis(sample_settings, prefix)
    workers = [make_bot(settings, embeddings) for _ in range(2)]
    claims = await asyncio.gather(*(workers[i % 2].first_delivery("slack", "Ev123") for i in range(8)))
    assert claims.count(True) == 1
    assert await workers[0].first_delivery("slack", "Ev124")
    assert await workers[0].first_delivery("discord", "Ev123")  # another platform's id space
    for bot in workers:
        await bot.close()


async def test_the_token_bucket_allows_a_burst_then_refills(redis_state):
    limiter = RateLimiter(redis_state, RateLimitSettings(burst=3, per_minute=600))  # 10 per second
    decisions = [await limiter.take("slack", "U1") for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert 0 < decisions[-1].retry_after_s <= 0.1
    assert (await limiter.take("slack", "U2")).allowed  # buckets are per user
    await asyncio.sleep(0.15)
    assert (await limiter.take("slack", "U1")).allowed


async def test_a_limited_user_gets_a_polite_answer_and_admins_are_exempt(sample_settings, prefix, embeddings):
    settings = with_redis(sample_settings, prefix).model_copy(
        update={"rate_limit": RateLimitSettings(burst=2, per_minute=1)})
    bot = make_bot(settings, embeddings)
    answers = [await bot.answer(inquiry("How long does a refund take?")) for _ in range(3)]
    assert [a.mode for a in answers] == ["extractive", "extractive", "limited"]
    assert "wait about 60 seconds" in answers[2].text and not answers[2].offer_human
    admin = Inquiry(**{**inquiry("How long does a refund take?").__dict__, "is_admin": True})
    assert all([(await bot.answer(admin)).mode != "limited" for _ in range(3)])
    await bot.close()


async def test_a_second_reindex_is_refused_while_one_runs(redis_state):
    started, release = threading.Event(), threading.Event()

    def slow_reindex(*, full, on_progress):
        on_progress("embed", 1, 2)
        started.set()
        release.wait(10)
        on_progress("embed", 2, 2)
        return IndexSummary(generation=7)

    seen = []

    async def progress(stage, done, total):
        seen.append((stage, done, total))

    first = asyncio.create_task(run_reindex_job(Lock(redis_state, "reindex", 60), slow_reindex,
                                                requested_by="U-admin", on_progress=progress))
    await asyncio.to_thread(started.wait, 10)
    with pytest.raises(ReindexBusy, match="started by U-admin"):
        await run_reindex_job(Lock(redis_state, "reindex", 60), slow_reindex, requested_by="U-other")
    release.set()
    assert (await first).generation == 7
    assert seen[-1] == ("embed", 2, 2)
    # Released: the next one may run.
    release.set()
    assert (await run_reindex_job(Lock(redis_state, "reindex", 60), slow_reindex,
                                  requested_by="U-other")).generation == 7


async def test_run_reindex_through_the_service_reports_progress(tmp_path, small_kb, embeddings, prefix):
    from tests.conftest import make_settings

    settings = with_redis(make_settings(tmp_path, small_kb), prefix)
    bot = make_bot(settings, embeddings)
    stages = []

    async def progress(stage, done, total):
        stages.append(stage)

    summary = await bot.run_reindex(requested_by="U-admin", on_progress=progress)
    assert summary.documents_total == 3 and summary.chunks_embedded > 0
    assert {"load", "embed"} <= set(stages)
    await bot.close()


async def test_index_if_empty_indexes_once_and_never_stops_a_start(tmp_path, small_kb, embeddings, prefix):
    from tests.conftest import make_settings

    settings = with_redis(make_settings(tmp_path, small_kb), prefix)
    bot = make_bot(settings, embeddings)
    await bot.index_if_empty()
    assert bot.index.generation() == 1
    await bot.index_if_empty()  # already indexed: nothing to do
    assert bot.index.generation() == 1
    await bot.close()

    other = with_redis(make_settings(tmp_path / "other", small_kb), prefix + "b:")
    bot = make_bot(other, embeddings)
    assert await Lock(bot.state.redis, "reindex", 60).acquire("another worker")
    await bot.index_if_empty()  # another worker is indexing: logged, and this one starts anyway
    assert bot.index.generation() == 0
    await bot.close()
