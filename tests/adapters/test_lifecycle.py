"""The shared start and stop rules (adapters/lifecycle.py, adapters/inflight.py), in process.

The process tests (tests/adapters/*/test_process.py) show them end to end with signals; these pin
the pieces: which failures are retried and for how long, how a stop cuts a start short, how work
in flight is drained or abandoned.
"""

from __future__ import annotations

import asyncio

import pytest

from adapters import lifecycle
from adapters.inflight import InFlight
from adapters.lifecycle import StartupFailure, Stopped, in_thread, retry_transient, unless_stopped
from bot.prompts import PromptError


async def test_a_transient_failure_is_retried_until_the_budget_then_named_once():
    attempts = []

    async def unreachable():
        attempts.append(1)
        raise StartupFailure("Cannot reach Slack", transient=True)

    with pytest.raises(StartupFailure) as failure:
        await retry_transient(unreachable, what="Slack", budget_s=2, stop=asyncio.Event())
    assert len(attempts) >= 2 and failure.value.exit_code == lifecycle.EXIT_UNREACHABLE
    assert str(failure.value).startswith("Cannot reach Slack (gave up after")


async def test_a_refusal_is_not_retried():
    attempts = []

    async def refused():
        attempts.append(1)
        raise StartupFailure("Slack refused SLACK_BOT_TOKEN (invalid_auth)")

    with pytest.raises(StartupFailure) as failure:
        await retry_transient(refused, what="Slack", budget_s=60, stop=asyncio.Event())
    assert attempts == [1] and failure.value.exit_code == lifecycle.EXIT_REFUSED


async def test_a_success_after_a_transient_failure_is_returned():
    results = iter([StartupFailure("blip", transient=True), "ok"])

    async def flaky():
        result = next(results)
        if isinstance(result, Exception):
            raise result
        return result

    assert await retry_transient(flaky, what="Discord", budget_s=10, stop=asyncio.Event()) == "ok"


async def test_a_stop_ends_the_retries_and_a_hung_attempt_at_once():
    stop = asyncio.Event()

    async def hangs():
        await asyncio.sleep(3600)

    loop = asyncio.get_running_loop()
    loop.call_later(0.05, stop.set)
    started = loop.time()
    with pytest.raises(Stopped):
        await retry_transient(hangs, what="Slack", budget_s=600, stop=stop)
    assert loop.time() - started < 5  # not the attempt's 10 s timeout


async def test_unless_stopped_returns_the_result_or_cancels_the_work():
    assert await unless_stopped(asyncio.sleep(0, result=7), asyncio.Event()) == 7
    stop = asyncio.Event()
    stop.set()
    cancelled = asyncio.Event()

    async def work():
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    with pytest.raises(Stopped):
        await unless_stopped(work(), stop)
    assert cancelled.is_set()


async def test_a_broken_prompt_set_becomes_one_line_not_a_traceback():
    def build():
        raise PromptError("prompts/system.md is missing from prompts; restore it.")

    with pytest.raises(StartupFailure) as failure:
        await in_thread(build)
    assert str(failure.value) == "prompts/system.md is missing from prompts; restore it."
    assert failure.value.exit_code == lifecycle.EXIT_REFUSED


async def test_in_flight_work_is_drained_or_abandoned():
    inflight = InFlight()
    finished, tidied = asyncio.Event(), asyncio.Event()

    async def quick():
        async with inflight.working():
            await asyncio.sleep(0.01)
            finished.set()

    async def slow():
        async with inflight.working():
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                tidied.set()  # where an answer posts its apology
                raise

    asyncio.ensure_future(quick())
    await asyncio.sleep(0)
    assert await inflight.drain(5) and finished.is_set()
    inflight.spawn(slow(), name="slow")
    await asyncio.sleep(0)
    assert not await inflight.drain(0.05)
    await inflight.abandon(1)
    assert tidied.is_set() and inflight.count == 0
