"""Class 4 on Discord, through discord.py against the strict Discord fake: a replayed gateway event
(or one reaching two workers) is answered once, also while Redis stalls; a rate-limited user gets
one reply and no new threads."""

from __future__ import annotations

import asyncio

import pytest

from tests.adapters.discord.conftest import (  # noqa: F401  (fixtures)
    SUPPORT_CHANNEL,
    api,
    redis_prefix,
    settle,
    start_client,
)
from tests.fakes.discord_payloads import custom_ids
from tests.security.redis_stall import own_redis, proxy, redis_url  # noqa: F401  (fixtures)
from tests.security.stalling_proxy import stalled_for

DELIVERIES = 500
THREADS = ("POST", "/channels/{id}/messages/{id}/threads")


def _answers(api, thread_id) -> list[dict]:
    return [m for m in api.posted(thread_id) if custom_ids(m)]


async def _warm(bot, api) -> None:
    """One answered question first: connections open, the signing secret loaded."""
    asked = bot.message("How long do refunds take?")
    await api.wait_for(lambda: _answers(api, asked["id"]))


def _replay(bot, payload: dict, copies: int) -> None:
    for _ in range(copies):
        bot.state.parse_message_create(payload)


@pytest.mark.parametrize("stall_s", [1.0, 3.0])
async def test_500_deliveries_of_one_message_while_redis_stalls_get_exactly_one_reply(start_client, api, proxy,
                                                                                      stall_s):
    bot = await start_client()
    await _warm(bot, api)
    async with stalled_for(proxy, stall_s):
        payload = bot.message("Can I return an opened item?")
        _replay(bot, payload, DELIVERIES - 1)
        await settle()
    await api.wait_for(lambda: _answers(api, payload["id"]))
    await settle()
    assert len(_answers(api, payload["id"])) == 1
    assert len(api.calls_to(*THREADS)) == 2  # the warm-up's thread and this one


@pytest.mark.parametrize("workers", [2, 3])
async def test_one_message_reaching_several_workers_on_a_warm_redis_gets_one_reply(start_client, api, workers):
    bots = [await start_client() for _ in range(workers)]
    for bot in bots:
        await _warm(bot, api)
    payload = bots[0].message("Can I return an opened item?")
    for bot in bots:
        _replay(bot, payload, DELIVERIES // workers)
    await settle()
    assert len(_answers(api, payload["id"])) == 1


@pytest.mark.parametrize("copies", [2, 10])
async def test_a_replayed_ask_interaction_is_answered_once(start_client, api, copies):
    bot = await start_client()
    ask = bot.command("ask", {"question": "How long is the warranty?"})
    for _ in range(copies - 1):
        bot.state.parse_interaction_create(ask)
    await settle()
    callbacks = [c for c in api.calls_to("POST", "/interactions/{id}/{token}/callback") if c.ids[0] == ask["id"]]
    assert len(callbacks) == 1  # and the fake refused nothing (a second callback would be an error)


@pytest.mark.parametrize("questions", [5, 50])
async def test_a_rate_limited_user_gets_one_reply_and_no_new_threads(start_client, api, sample_settings, questions):
    limited = sample_settings.model_copy(update={
        "rate_limit": sample_settings.rate_limit.model_copy(update={"enabled": True, "burst": 1, "per_minute": 0.1}),
        # A loaded test machine must not look like a Redis outage (the limiter fails open in one).
        "redis": sample_settings.redis.model_copy(update={"connect_timeout_s": 5, "socket_timeout_s": 5})})
    bot = await start_client(settings=limited)
    first = bot.message("How long do refunds take?")
    await api.wait_for(lambda: _answers(api, first["id"]))
    for n in range(questions):
        bot.message(f"And question {n}?")
        await asyncio.sleep(0)
    await settle()
    assert len(api.calls_to(*THREADS)) == 1  # only the allowed question got a thread
    replies = [m for m in api.posted(SUPPORT_CHANNEL) if "wait" in m["content"]]
    assert len(replies) == 1
    assert len(api.calls_to("POST", "/channels/{id}/messages")) == 2  # the answer and the one notice
