"""A worker that dies while answering: the acknowledgement waits for the reply (slack.hold_ack_s),
so Slack retries an event whose worker died, and the retry is answered exactly once by a worker
that is alive (bot/state/leases.py). Real bolt app (acknowledging before its listener, as in
production), the session's real Redis, the strict Slack fake."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.state.dedupe import EventDeduper
from tests.adapters.slack.conftest import make_harness
from tests.adapters.slack.harness import ASKER, BOT_USER, PUBLIC, event_body, new_ts
from tests.fakes.slack_api import TEAM_ID

LEASE_S = 1.0
RETRY = {"extra": {"x-slack-retry-num": "1", "x-slack-retry-reason": "http_error"}}


@pytest.fixture
def lease_settings(bot_settings):
    return bot_settings.model_copy(update={
        "redis": bot_settings.redis.model_copy(update={"event_lease_s": LEASE_S}),
        "slack": bot_settings.slack.model_copy(update={"hold_ack_s": 2.0})})


@pytest.fixture
async def worker(lease_settings, embeddings, fake_slack):
    h = await make_harness(lease_settings, embeddings, fake_slack, process_before_response=False)
    await h.mention("warm the connections")  # the app's first request asks Slack who it is
    yield h
    await h.rt.drain()
    await h.bot.close()


def _mention(worker, event_id: str) -> tuple[str, str]:
    ts = new_ts()
    event = {"type": "app_mention", "user": ASKER, "text": f"<@{BOT_USER}> How long do refunds take?", "ts": ts,
             "channel": PUBLIC, "event_ts": ts, "team": TEAM_ID}
    worker.slack.add_user_message(PUBLIC, ts, ASKER, event["text"])
    return ts, event_body(event, event_id)


def _answers(worker, thread: str) -> list[dict]:
    """The bot's replies in the thread that carry an answer (not the "looking…" placeholder)."""
    return [m for m in worker.slack.messages(PUBLIC, thread) if "Looking through" not in m["text"]]


def _slow_answers(worker, monkeypatch, delay_s: float) -> None:
    answer = worker.bot.answer

    async def slow(*args, **kwargs):
        await asyncio.sleep(delay_s)
        return await answer(*args, **kwargs)

    monkeypatch.setattr(worker.bot, "answer", slow)


async def _timed_delivery(worker, monkeypatch, event_id: str, answer_s: float):
    """Deliver one mention whose answer takes answer_s; the thread, the response, seconds to ack."""
    _slow_answers(worker, monkeypatch, answer_s)
    thread, body = _mention(worker, event_id)
    started = time.perf_counter()
    response = await worker.send(body, "application/json")
    return thread, response, time.perf_counter() - started


async def test_the_acknowledgement_waits_until_the_reply_is_posted(worker, monkeypatch):
    thread, response, acked_s = await _timed_delivery(worker, monkeypatch, "EvHeld", 0.5)
    assert response.status == 200
    assert len(_answers(worker, thread)) == 1  # already there when Slack got its 200
    assert acked_s >= 0.5


async def test_the_acknowledgement_is_not_held_past_hold_ack_s(worker, monkeypatch):
    thread, response, acked_s = await _timed_delivery(worker, monkeypatch, "EvSlow", 3.0)
    assert response.status == 200 and acked_s >= 2.0
    assert _answers(worker, thread) == []  # acknowledged at hold_ack_s, before the 3 s answer
    await worker.rt.drain()
    assert len(_answers(worker, thread)) == 1


async def test_a_retry_after_the_first_worker_died_mid_answer_is_answered_once(worker):
    thread, body = _mention(worker, "EvOrphan")
    # Another worker leased the event and was killed: nobody renews its lease.
    dead = EventDeduper(worker.bot.state.redis, ttl_s=3600, budget_s=0.3, lease_s=LEASE_S)
    assert await dead.lease("slack", "EvOrphan") is not None
    response = await worker.send(body, "application/json", **RETRY)  # Slack's retry reaches this worker
    assert response.status == 200
    await worker.rt.drain()
    assert len(_answers(worker, thread)) == 1
    for _ in range(3):  # Slack's later retries, and a late copy: refused by the done marker
        assert (await worker.send(body, "application/json", **RETRY)).status == 200
    await worker.rt.drain()
    assert len(worker.slack.messages(PUBLIC, thread)) == 1


async def test_a_retry_while_the_first_worker_is_alive_and_answering_is_refused(
        worker, lease_settings, embeddings, fake_slack, monkeypatch):
    other = await make_harness(lease_settings, embeddings, fake_slack, process_before_response=False)
    try:
        await other.mention("warm the connections")
        _slow_answers(worker, monkeypatch, 2.5)  # longer than the lease: only renewal keeps it
        thread, body = _mention(worker, "EvAlive")
        first = asyncio.create_task(worker.send(body, "application/json"))
        await asyncio.sleep(0.3)
        assert (await other.send(body, "application/json", **RETRY)).status == 200
        await first
        await asyncio.gather(worker.rt.drain(), other.rt.drain())
        assert len(worker.slack.messages(PUBLIC, thread)) == 1
        assert len(_answers(worker, thread)) == 1
    finally:
        await other.rt.drain()
        await other.bot.close()


async def test_a_worker_whose_lease_was_taken_over_does_not_post_its_reply(worker, monkeypatch):
    _slow_answers(worker, monkeypatch, 1.0)
    thread, body = _mention(worker, "EvStolen")
    sending = asyncio.create_task(worker.send(body, "application/json"))
    await asyncio.sleep(0.3)
    # What a retry on another worker does after this one stalled past its lease.
    key = worker.bot.state.redis.key("event", "slack", "EvStolen")
    await worker.bot.state.redis.client.set(key, "lease:another-worker", px=60_000)
    await sending
    await worker.rt.drain()
    assert _answers(worker, thread) == []  # only the placeholder: the other worker's reply follows it
    assert await worker.bot.state.redis.client.get(key) == b"lease:another-worker"  # not overwritten
