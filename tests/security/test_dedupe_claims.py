"""Class 4, the claim itself: the in-process claims are bounded and expire, and the deduper fails
closed when Redis cannot answer (a retry with an unknown claim is not answered)."""

from __future__ import annotations

import pytest
from redis import asyncio as aioredis

from bot.settings import RedisSettings
from bot.state.connection import RedisState
from bot.state.dedupe import EventDeduper, LocalClaims


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("copies", [2, 10, 1000])
def test_only_the_first_local_claim_wins(copies):
    claims = LocalClaims(ttl_s=60)
    assert [claims.claim("ev") for _ in range(copies)].count(True) == 1


def test_a_local_claim_expires_after_its_ttl():
    clock = Clock()
    claims = LocalClaims(ttl_s=60, clock=clock)
    assert claims.claim("ev") and not claims.claim("ev")
    clock.now = 59.9
    assert not claims.claim("ev")
    clock.now = 60.0
    assert claims.claim("ev")


@pytest.mark.parametrize("limit", [1, 10, 100])
def test_local_claims_are_bounded_oldest_first(limit):
    claims = LocalClaims(ttl_s=60, max_entries=limit)
    for n in range(limit * 3):
        claims.claim(f"ev{n}")
    assert len(claims) == limit
    assert not claims.claim(f"ev{limit * 3 - 1}")  # the newest are kept


class DeadRedis(RedisState):
    """A breaker already open: every call fails at once with StateUnavailable, as in an outage."""

    def __init__(self) -> None:
        # A client that is never called (the breaker is open); it only registers the scripts.
        super().__init__(client=aioredis.Redis(port=1), settings=RedisSettings(), description="dead", shared=True)
        self._open = True

    def _schedule_probe(self) -> None:
        pass


@pytest.mark.parametrize("retry, expected", [(False, True), (True, False)])
async def test_with_redis_down_a_first_delivery_is_answered_and_a_retry_is_not(retry, expected):
    deduper = EventDeduper(DeadRedis(), ttl_s=60, budget_s=0.1)
    assert await deduper.claim("slack", "Ev1", retry=retry) is expected
    assert await deduper.claim("slack", "Ev1") is False  # claimed in this process either way


async def test_with_redis_down_many_copies_give_one_claim():
    deduper = EventDeduper(DeadRedis(), ttl_s=60, budget_s=0.1)
    results = [await deduper.claim("discord", "123") for _ in range(500)]
    assert results.count(True) == 1


@pytest.mark.parametrize("retry, answered", [(False, True), (True, False)])
async def test_with_redis_down_a_lease_keeps_the_old_fail_closed_rules(retry, answered):
    deduper = EventDeduper(DeadRedis(), ttl_s=60, budget_s=0.1)
    lease = await deduper.lease("slack", "Ev1", retry=retry, wait_s=1.0)
    assert (lease is not None) is answered
    if lease is not None:
        assert not lease.in_redis and await lease.still_ours()  # unknown counts as ours
        async with lease.held():
            pass
        assert lease.settled
    assert await deduper.lease("slack", "Ev1", retry=True) is None  # claimed in this process either way
    assert await deduper.lease("slack", "Ev1") is None


async def test_with_redis_down_many_copies_give_one_lease():
    deduper = EventDeduper(DeadRedis(), ttl_s=60, budget_s=0.1)
    results = [await deduper.lease("slack", "Ev2") for _ in range(500)]
    assert sum(lease is not None for lease in results) == 1


def test_a_forgotten_local_claim_lets_the_next_one_in_and_a_kept_one_restarts_its_ttl():
    clock = Clock()
    claims = LocalClaims(ttl_s=60, clock=clock)
    assert claims.claim("ev")
    claims.forget("ev")
    assert claims.claim("ev")
    clock.now = 50.0
    claims.keep("ev")
    clock.now = 100.0  # 60 s after the first claim, 50 after keep()
    assert not claims.claim("ev")
    clock.now = 110.0
    assert claims.claim("ev")
