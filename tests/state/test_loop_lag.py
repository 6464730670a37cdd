"""A busy event loop is not a Redis outage: a reply read late costs one call, not the breaker.

The loop is blocked for real (time.sleep in a loop callback) while a command to the session's
Redis is in flight, so the reply waits in the socket past the socket timeout, as it does when a
burst of answers keeps one worker's loop busy.
"""

from __future__ import annotations

import asyncio
import time

import pytest
import structlog

from bot.ops.metrics import Metrics
from bot.state.connection import StateUnavailable, connect
from bot.state.loop_lag import LoopLag
from tests.fakes.tcp import SwitchableProxy
from tests.state.conftest import with_redis

FAST = {"connect_timeout_s": 0.2, "socket_timeout_s": 0.2, "retry_after_s": 0.3}


# ----- the monitor ---------------------------------------------------------------------------

async def test_an_idle_loop_shows_next_to_no_lag():
    monitor = LoopLag(interval_s=0.02)
    monitor.start()
    await asyncio.sleep(0.3)
    assert monitor.lag_s() < 0.05  # timer jitter only; a blocked loop shows tenths of a second
    await monitor.stop()


async def test_a_block_shows_at_once_and_stays_for_the_window():
    monitor = LoopLag(interval_s=0.02, window_s=0.5)
    monitor.start()
    await asyncio.sleep(0.1)
    time.sleep(0.3)  # block the loop, as CPU-bound answering would
    # Before the monitor's own overdue timer has run: the overdue wake-up counts.
    assert monitor.lag_s() >= 0.25
    await asyncio.sleep(0.1)
    assert monitor.lag_s() >= 0.25  # ...and once it has, the recorded lateness does
    await asyncio.sleep(0.6)
    assert monitor.lag_s() < 0.05  # forgotten after the window
    await monitor.stop()


async def test_stopping_the_monitor_leaves_no_task_behind():
    monitor = LoopLag(interval_s=0.02)
    monitor.start()
    monitor.start()  # idempotent: one task per loop
    names = [t.get_name() for t in asyncio.all_tasks()]
    assert names.count("redis-loop-lag") == 1
    await monitor.stop()
    assert "redis-loop-lag" not in [t.get_name() for t in asyncio.all_tasks()]
    assert monitor.lag_s() < 0.05


# ----- RedisState ----------------------------------------------------------------------------

def _wait_then_block(key: str, seconds: float):
    """An operation whose reply is on its way while the loop is blocked for `seconds`.

    BLPOP on an empty list answers (nil) after 0.15 s, within the 0.2 s socket timeout; the loop
    blocks from 0.05 s, once the command is surely on the wire, so the reply is read late."""
    async def operation(r):
        asyncio.get_running_loop().call_later(0.05, time.sleep, seconds)
        return await r.blpop(key, timeout=0.15)
    return operation


async def test_a_reply_read_late_on_a_busy_loop_does_not_open_the_breaker(sample_settings, prefix, raw_redis):
    state = connect(with_redis(sample_settings, prefix, **FAST))
    raw_redis.set(prefix + "k", "v")
    assert await state.run(lambda r: r.ping())  # connected; the monitor is watching
    await asyncio.sleep(0.1)
    with structlog.testing.capture_logs() as logs:
        for _ in range(2):  # the second busy spell within 5 s logs nothing more
            with pytest.raises(StateUnavailable, match="event loop busy"):
                await state.run(_wait_then_block(prefix + "empty", 3 * FAST["socket_timeout_s"]))
            assert state.available  # Redis was fine: no outage
    assert state.late_replies == 2
    assert [e["event"] for e in logs if e["log_level"] in ("warning", "error")] == [
        "event loop busy: a Redis reply came late; this call went without state"]
    assert await state.run(lambda r: r.get(prefix + "k")) == b"v"  # the next call works
    await state.close()


async def test_the_same_timeout_on_a_quiet_loop_still_opens_the_breaker(sample_settings, prefix):
    proxy = SwitchableProxy(mode="hang")
    try:
        state = connect(with_redis(sample_settings, prefix, url=proxy.url, **FAST))
        state.loop_lag.start()
        await asyncio.sleep(0.2)  # a quiet loop, watched
        with structlog.testing.capture_logs() as logs:
            with pytest.raises(StateUnavailable):
                await state.run(lambda r: r.get(prefix + "k"))
        assert not state.available and state.late_replies == 0
        assert [e["log_level"] for e in logs if "Redis is not answering" in e["event"]] == ["error"]
        await state.close()
    finally:
        proxy.close()
    assert "redis-loop-lag" not in [t.get_name() for t in asyncio.all_tasks()]


def test_late_replies_are_a_prometheus_counter():
    metrics = Metrics()
    late = [0]
    metrics.watch_redis(lambda: True, lambda: late[0])
    late[0] = 3
    assert metrics.registry.get_sample_value("supportbot_redis_late_replies_total") == 3
    assert metrics.registry.get_sample_value("supportbot_redis_up") == 1
