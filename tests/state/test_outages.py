"""Redis stopped or hung: the bot still answers, logs once, and recovers by itself."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest
import structlog

from bot.state.connection import StateUnavailable
from tests.fakes.tcp import SwitchableProxy
from tests.helpers import inquiry
from tests.state.conftest import make_bot, with_redis

FAST = {"connect_timeout_s": 0.2, "socket_timeout_s": 0.2, "retry_after_s": 0.3}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens here once the socket closes


@pytest.fixture
def proxy(redis_url):
    server = SwitchableProxy(redis_url, mode="hang")
    yield server
    server.close()


async def test_with_redis_stopped_the_bot_answers_and_logs_once(sample_settings, prefix, embeddings):
    settings = with_redis(sample_settings, prefix, url=f"redis://127.0.0.1:{closed_port()}/0", **FAST)
    bot = make_bot(settings, embeddings)
    with structlog.testing.capture_logs() as logs:
        answers = [await bot.answer(inquiry("How long does a refund take?", thread="t")) for _ in range(3)]
    assert all(a.grounded and a.sources and not a.cached for a in answers)
    outages = [e for e in logs if e["log_level"] == "error" and "Redis" in e["event"]]
    assert len(outages) == 1
    # Dedupe fails closed: the first delivery is answered, its repeat (claimed in this process) is not.
    assert await bot.first_delivery("slack", "Ev1") and not await bot.first_delivery("slack", "Ev1")
    assert await bot.history(inquiry("x", thread="t").conversation) == []
    await bot.close()


async def test_a_hung_redis_costs_one_timeout_then_nothing(sample_settings, prefix, embeddings, proxy):
    healthy = make_bot(with_redis(sample_settings, prefix + "ok:"), embeddings)
    await healthy.answer(inquiry("Do gift cards expire?"))  # warm up the model path
    started = time.perf_counter()
    await healthy.answer(inquiry("Do gift cards ever expire?"))
    normal = time.perf_counter() - started
    await healthy.close()

    settings = with_redis(sample_settings, prefix, url=proxy.url, **FAST)
    bot = make_bot(settings, embeddings)
    started = time.perf_counter()
    first = await bot.answer(inquiry("How long does a refund take?"))
    first_s = time.perf_counter() - started
    assert first.grounded and first.sources
    assert not bot.state.redis.available  # the breaker opened on the first timeout
    # Loose bounds (tests must not fail on a slow machine): one timeout, not one per call.
    budget = 2 * (FAST["connect_timeout_s"] + FAST["socket_timeout_s"])
    assert first_s < normal + budget + 2.0
    second = await bot.answer(inquiry("Do you ship to Canada?"))
    assert second.grounded
    await bot.close()


async def test_the_bot_recovers_when_redis_answers_again(sample_settings, prefix, embeddings, proxy):
    settings = with_redis(sample_settings, prefix, url=proxy.url, **FAST)
    bot = make_bot(settings, embeddings)
    await bot.answer(inquiry("How long does a refund take?"))
    assert not bot.state.redis.available
    with pytest.raises(StateUnavailable):
        await bot.state.redis.run(lambda r: r.ping())

    proxy.mode = "forward"
    deadline = time.monotonic() + 10
    while not bot.state.redis.available and time.monotonic() < deadline:
        try:
            await bot.state.redis.run(lambda r: r.ping())  # schedules the background probe
        except StateUnavailable:
            pass
        await asyncio.sleep(0.1)
    assert bot.state.redis.available
    await bot.answer(inquiry("Do gift cards expire?"))
    assert (await bot.answer(inquiry("Do gift cards expire?"))).cached
    await bot.close()



async def test_a_busy_connection_pool_is_not_mistaken_for_an_outage(sample_settings, prefix):
    from bot.state.connection import connect

    state = connect(with_redis(sample_settings, prefix, max_connections=10))
    results = await asyncio.gather(*(state.run(lambda r: r.blpop(prefix + "never", timeout=0.2))
                                     for _ in range(30)), return_exceptions=True)
    assert any(isinstance(r, StateUnavailable) for r in results)  # more callers than connections
    assert state.available  # ...but Redis is fine, so the breaker stays closed
    assert await state.run(lambda r: r.ping())
    await state.close()
