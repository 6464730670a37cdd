"""Lease-style event claims on the real Redis (bot/state/leases.py): a renewed lease keeps other
workers out, a lapsed one lets a retry in, the done marker refuses until event_ttl_s, racing
retries give one winner, and a worker that lost its lease does not post."""

from __future__ import annotations

import asyncio

import pytest

from bot.state.connection import connect
from bot.state.dedupe import EventDeduper
from tests.state.conftest import with_redis

LEASE_S = 0.6  # short, so that lapsing takes well under a second


@pytest.fixture
async def workers(sample_settings, prefix):
    """Two workers' dedupers on one Redis, each with its own connection and in-process claims."""
    states = [connect(with_redis(sample_settings, prefix)) for _ in range(2)]
    yield [EventDeduper(state, ttl_s=60, budget_s=0.2, lease_s=LEASE_S) for state in states]
    for state in states:
        await state.close()


async def test_a_renewed_lease_keeps_a_retry_on_another_worker_out(workers):
    first, second = workers
    lease = await first.lease("slack", "Ev1")
    assert lease is not None and lease.in_redis
    async with lease.held():
        await asyncio.sleep(LEASE_S * 2.5)  # well past one lease: only renewal keeps it
        assert await second.lease("slack", "Ev1", retry=True) is None
        assert await lease.still_ours()
    assert lease.settled


async def test_a_lapsed_lease_lets_a_retry_in_and_the_first_worker_then_must_not_post(workers, raw_redis, prefix):
    first, second = workers
    dead = await first.lease("slack", "Ev2")  # taken, then never renewed: its worker "died"
    assert dead is not None
    assert await second.lease("slack", "Ev2", retry=True) is None  # still live: refused at once
    await asyncio.sleep(LEASE_S + 0.1)
    assert raw_redis.get(f"{prefix}event:slack:Ev2") is None  # lapsed: Redis dropped it
    taker = await second.lease("slack", "Ev2", retry=True)
    assert taker is not None
    assert not await dead.still_ours()  # had it come back, the first worker would not post
    async with taker.held():
        pass
    await dead.finish()  # finishing after losing writes nothing over the new holder's done marker
    assert raw_redis.get(f"{prefix}event:slack:Ev2") == b"done"


async def test_a_retry_that_waits_takes_over_when_the_holder_dies_meanwhile(workers):
    first, second = workers
    assert await first.lease("slack", "Ev3") is not None  # never renewed
    lease = await second.lease("slack", "Ev3", retry=True, wait_s=LEASE_S * 3)
    assert lease is not None


async def test_a_waiting_retry_keeps_waiting_when_one_look_at_redis_times_out(workers, monkeypatch):
    first, second = workers
    assert await first.lease("slack", "Ev3b") is not None  # never renewed: its worker died
    run = second.state.run
    looks = []

    async def second_look_stalls(operation):
        looks.append(operation)
        if len(looks) == 2:  # Redis said "busy" once; now one look outlasts the claim budget
            await asyncio.sleep(second.budget_s * 3)
        return await run(operation)

    monkeypatch.setattr(second.state, "run", second_look_stalls)
    lease = await second.lease("slack", "Ev3b", retry=True, wait_s=LEASE_S * 6)
    assert len(looks) >= 3  # it looked again after the stalled look instead of refusing
    assert lease is not None and lease.in_redis  # and took over once the dead worker's lease lapsed


async def test_a_waiting_retry_is_refused_once_the_holder_posted(workers):
    first, second = workers
    lease = await first.lease("slack", "Ev4")

    async def answer():
        async with lease.held():
            await asyncio.sleep(LEASE_S)

    answering = asyncio.create_task(answer())
    assert await second.lease("slack", "Ev4", retry=True, wait_s=LEASE_S * 4) is None
    await answering


async def test_the_done_marker_refuses_every_later_delivery_until_the_ttl(workers, raw_redis, prefix):
    first, second = workers
    lease = await first.lease("slack", "Ev5")
    async with lease.held():
        pass
    await asyncio.sleep(LEASE_S + 0.1)  # long after the lease would have lapsed
    for deduper in (first, second):
        assert await deduper.lease("slack", "Ev5", retry=True, wait_s=0.3) is None
        assert await deduper.lease("slack", "Ev5") is None
    assert 50 < raw_redis.ttl(f"{prefix}event:slack:Ev5") <= 60


async def test_racing_retries_after_a_lapse_give_exactly_one_winner(workers):
    first, second = workers
    assert await first.lease("slack", "Ev6") is not None
    await asyncio.sleep(LEASE_S + 0.1)
    # Fresh in-process claims each time, so every copy reaches Redis: only the script decides.
    dedupers = [EventDeduper(d.state, ttl_s=60, budget_s=0.2, lease_s=LEASE_S) for d in workers for _ in range(10)]
    won = await asyncio.gather(*(d.lease("slack", "Ev6", retry=True) for d in dedupers))
    assert sum(lease is not None for lease in won) == 1


async def test_a_failed_answer_frees_the_event_for_a_retry_to_the_same_worker_at_once(workers):
    first, second = workers
    lease = await first.lease("slack", "Ev7")
    with pytest.raises(RuntimeError):
        async with lease.held():
            raise RuntimeError("the answer failed before anything was posted")
    retried = await first.lease("slack", "Ev7", retry=True)  # neither Redis nor this process refuses
    assert retried is not None
    assert await second.lease("slack", "Ev7", retry=True) is None  # and it holds it now


async def test_a_refused_first_copy_does_not_block_a_later_retry_to_the_same_worker(workers):
    first, second = workers
    assert await first.lease("slack", "Ev8") is not None  # worker A takes it, then dies
    assert await second.lease("slack", "Ev8") is None  # a copy reaching B while A's lease is live
    await asyncio.sleep(LEASE_S + 0.1)
    assert await second.lease("slack", "Ev8", retry=True) is not None


async def test_once_only_claims_refuse_a_leased_event_and_leases_refuse_a_claimed_one(workers):
    first, second = workers
    assert await first.lease("slack", "Ev9") is not None
    assert not await second.claim("slack", "Ev9")
    assert await first.claim("discord", "123")
    await asyncio.sleep(LEASE_S + 0.1)
    assert await second.lease("discord", "123", retry=True) is None  # a done marker, not a lease


async def test_a_lease_decided_without_redis_still_yields_to_a_worker_that_took_the_event(workers):
    from bot.state.leases import EventLease

    first, second = workers
    key = first.state.key("event", "slack", "Ev10")
    # The claim did not reach Redis in time, so the first worker answers on its own say-so...
    alone = EventLease(first, key, "lease:alone", in_redis=False)
    # ...and meanwhile a retry found no lease in Redis and took the event.
    assert await second.lease("slack", "Ev10", retry=True) is not None
    assert not await alone.still_ours()
