"""Class 4 on Slack, through the real bolt app: dedupe never replies twice.

Redis here is one the module starts itself behind a stalling proxy (tests/security/redis_stall.py):
a stall makes Redis hang as a slow or overloaded server does, for every worker.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from bot.settings import RateLimitSettings
from tests.adapters.slack.conftest import (  # noqa: F401  (fixtures)
    bot_settings,
    fake_slack,
    harness,
    make_harness,
    redis_prefix,
)
from tests.adapters.slack.harness import ASKER, BOT_USER, DM, PUBLIC, event_body, form_body, new_ts
from tests.fakes.slack_api import TEAM_ID
from tests.security.redis_stall import own_redis, proxy, redis_url  # noqa: F401  (fixtures)
from tests.security.stalling_proxy import stalled_for

DELIVERIES = 500


def _mention(harness, text="How long do refunds take?", *, channel=PUBLIC) -> tuple[str, dict]:
    ts = new_ts()
    event = {"type": "app_mention", "user": ASKER, "text": f"<@{BOT_USER}> {text}", "ts": ts, "channel": channel,
             "event_ts": ts, "team": TEAM_ID}
    harness.slack.add_user_message(channel, ts, ASKER, event["text"])
    return ts, event


def _bot_messages_in(harness, channel: str, thread: str) -> int:
    return len(harness.slack.messages(channel, thread))


async def _deliver(harness, body: str, copies: int, *, retry: bool = False) -> None:
    headers = {"extra": {"x-slack-retry-num": "1", "x-slack-retry-reason": "http_timeout"}} if retry else {}
    responses = await asyncio.gather(*(harness.send(body, "application/json", **headers) for _ in range(copies)))
    assert {r.status for r in responses} == {200}  # every copy acknowledged, so Slack stops retrying
    await harness.rt.drain()


@pytest.mark.parametrize("stall_s", [1.0, 3.0])
async def test_500_deliveries_of_one_event_while_redis_stalls_get_exactly_one_reply(harness, proxy, stall_s):
    await harness.mention("warm the connections")  # the app's first request asks Slack who it is
    thread, event = _mention(harness)
    body = event_body(event, "EvStalled")
    async with stalled_for(proxy, stall_s):
        await _deliver(harness, body, DELIVERIES)
    assert _bot_messages_in(harness, PUBLIC, thread) == 1
    assert len([c for c in harness.slack.calls("chat.postMessage") if c.args.get("thread_ts") == thread]) == 1
    await _deliver(harness, body, 20)  # Redis back: still the one reply
    assert _bot_messages_in(harness, PUBLIC, thread) == 1


async def test_retries_reaching_a_second_worker_while_redis_stalls_are_not_answered(
        harness, bot_settings, embeddings, fake_slack, proxy):
    other = await make_harness(bot_settings, embeddings, fake_slack)
    try:
        await other.mention("warm the connections")  # the app's first request asks Slack who it is
        thread, event = _mention(harness)
        body = event_body(event, "EvRetried")
        await _deliver(harness, body, 1)  # the first worker answers the original delivery
        async with stalled_for(proxy, 1.5):  # Slack's retries land on the other worker, which cannot ask Redis
            await _deliver(other, body, DELIVERIES - 1, retry=True)
        assert _bot_messages_in(harness, PUBLIC, thread) == 1
    finally:
        await other.bot.close()


@pytest.mark.parametrize("workers", [1, 2, 4])
async def test_500_deliveries_spread_over_workers_on_a_warm_redis_get_one_reply(
        harness, bot_settings, embeddings, fake_slack, workers):
    others = [await make_harness(bot_settings, embeddings, fake_slack) for _ in range(workers - 1)]
    try:
        everyone = [harness, *others]
        for worker in everyone:  # each app's first request asks Slack who it is (auth.test): not 500 at once
            await worker.mention("warm the cache and the connections")
        thread, event = _mention(harness)
        body = event_body(event, f"EvWarm{workers}")
        # Slack sends the delivery once, then its retries (marked as such) to whichever worker.
        await asyncio.gather(_deliver(harness, body, 1),
                             *(_deliver(everyone[i % workers], body, (DELIVERIES - 1) // workers, retry=True)
                               for i in range(workers)))
        assert _bot_messages_in(harness, PUBLIC, thread) == 1
    finally:
        for other in others:
            await other.bot.close()


def _ask_body(text: str, trigger: str) -> str:
    return form_body({"token": "legacy", "team_id": TEAM_ID, "channel_id": PUBLIC, "user_id": ASKER,
                      "user_name": "asker", "command": "/ask", "text": text, "api_app_id": "A0APP",
                      "response_url": "", "trigger_id": trigger})


@pytest.mark.parametrize("copies, retry, together", [(3, False, False), (3, False, True), (10, True, True),
                                                     (50, False, True)])
async def test_a_replayed_ask_is_answered_once(harness, copies, retry, together):
    body = _ask_body("How long does shipping take?", "1234.5678.abcdef")
    body = body.replace("response_url=&", f"response_url={harness.slack.response_url('ask')}&".replace(":", "%3A")
                        .replace("/", "%2F"))
    headers = {"extra": {"x-slack-retry-num": "1"}} if retry else {}
    if together:
        await asyncio.gather(*(harness.send(body, "application/x-www-form-urlencoded", **headers)
                               for _ in range(copies)))
    else:
        for _ in range(copies):
            await harness.send(body, "application/x-www-form-urlencoded", **headers)
    await harness.rt.drain()
    answers = [c for c in harness.slack.calls("response_url") if c.args.get("blocks")]
    assert len(answers) == 1


@pytest.fixture
def limited(bot_settings):
    """One question, then the limit (a slow refill: no token comes back during the test)."""
    return bot_settings.model_copy(update={
        "rate_limit": RateLimitSettings(burst=1, per_minute=0.1),
        # A loaded test machine must not look like a Redis outage (the limiter fails open in one).
        "redis": bot_settings.redis.model_copy(update={"connect_timeout_s": 5, "socket_timeout_s": 5})})


@pytest.mark.parametrize("questions", [5, 100])
@pytest.mark.parametrize("where", ["channel", "dm"])
async def test_a_rate_limited_user_gets_one_private_notice_and_no_placeholders(
        limited, embeddings, fake_slack, questions, where):
    harness = await make_harness(limited, embeddings, fake_slack)
    try:
        for n in range(questions):
            if where == "channel":
                await harness.mention(f"Question number {n} about refunds?")
            else:
                await harness.message(f"Question number {n} about refunds?", channel=DM, channel_type="im")
        notices = harness.slack.calls("chat.postEphemeral")
        assert len(notices) == 1 and "wait" in notices[0].args["text"]
        if where == "channel":  # one placeholder and its update, for the one allowed question
            assert len(harness.slack.calls("chat.postMessage")) == 1
            assert len(harness.slack.calls("chat.update")) == 1
        else:  # one streamed answer, one status
            assert len(harness.slack.calls("chat.startStream")) + len(harness.slack.calls("chat.postMessage")) == 1
        assert len(fake_slack.calls()) <= 6  # not one call per question
    finally:
        await harness.rt.drain()
        await harness.bot.close()


async def test_a_rate_limited_ask_gets_only_its_acknowledgement(limited, embeddings, fake_slack):
    harness = await make_harness(limited, embeddings, fake_slack)
    try:
        await harness.command("/ask", "How long does shipping take?")
        responses = [await harness.command("/ask", f"And question {n}?") for n in range(5)]
        assert all("wait" in json.loads(r.body)["text"] for r in responses)
        assert len(harness.slack.calls("response_url")) == 1  # the first answer only: no placeholders
    finally:
        await harness.bot.close()
