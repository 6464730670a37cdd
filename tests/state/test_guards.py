"""Event dedupe, the per-user rate limit and the one-at-a-time reindex, on the real Redis."""

from __future__ import annotations

import asyncio
import re
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
    # One token a minute: the wait is a minute less the time the first two answers took.
    wait = re.search(r"wait about (\d+) seconds", answers[2].text)
    assert wait and 45 <= int(wait.group(1)) <= 60 and not answers[2].offer_human
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


async def test_a_lock_that_expired_and_was_taken_is_not_freed_or_renewed_by_its_first_owner(redis_state):
    first, second = Lock(redis_state, "job", 5), Lock(redis_state, "job", 5)
    assert await first.acquire("worker-1")
    assert not await second.acquire("worker-2")
    await redis_state.run(lambda r: r.pexpire(first.key, 1))  # worker-1 stalled past its lock's life
    await asyncio.sleep(0.05)
    assert await second.acquire("worker-2")
    assert not await first.extend() and not await first.release()  # token-checked: not worker-1's now
    assert (await second.holder())[0] == "worker-2"
    assert await second.release() and await second.holder() is None


async def test_the_heartbeat_keeps_a_reindex_locked_longer_than_the_lock_lives(redis_state):
    started, finish = threading.Event(), threading.Event()

    def long_reindex(*, full, on_progress):
        started.set()
        finish.wait(20)
        return IndexSummary(generation=3)

    lock = Lock(redis_state, "reindex", ttl_s=1.0)
    job = asyncio.create_task(run_reindex_job(lock, long_reindex, requested_by="U-admin"))
    await asyncio.to_thread(started.wait, 10)
    await asyncio.sleep(2.5)  # 2.5 lifetimes of the lock
    with pytest.raises(ReindexBusy, match="started by U-admin"):
        await run_reindex_job(Lock(redis_state, "reindex", 1.0), long_reindex, requested_by="U-other")
    assert 0 < await redis_state.run(lambda r: r.pttl(lock.key)) <= 1000
    finish.set()
    assert (await job).generation == 3
    assert await lock.holder() is None  # released at the end, not left to expire


def test_a_worker_killed_mid_reindex_frees_the_lock_within_its_lifetime(tmp_path, small_kb, prefix, redis_url,
                                                                         raw_redis):
    import subprocess
    import sys
    import time

    from bot.settings import RedisSettings
    from tests.conftest import REPO

    assert RedisSettings().lock_ttl_s <= 60  # production: /reindex is free again within a minute
    ttl_s = 2.0
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.state.reindex_worker", redis_url, prefix, str(small_kb),
         str(tmp_path / "worker"), str(ttl_s)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = worker.stdout.readline()
        assert line.strip() == "reindexing", worker.stderr.read()
        key = prefix + "lock:reindex"
        time.sleep(2 * ttl_s)  # the heartbeat keeps it while the worker lives
        assert raw_redis.get(key).decode().split("|")[1] == "worker-1"
        worker.kill()
        worker.wait(10)
        killed_at = time.monotonic()
        while raw_redis.exists(key) and time.monotonic() - killed_at < 30:
            time.sleep(0.05)
        freed_after = time.monotonic() - killed_at
    finally:
        worker.kill()
        worker.wait(10)
    assert not raw_redis.exists(key)
    assert freed_after <= ttl_s + 0.5
