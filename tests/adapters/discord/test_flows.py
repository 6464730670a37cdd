"""Messages through discord.py: threads, follow-ups, DMs, forum posts, streaming, failures."""

from __future__ import annotations

import re

from tests.adapters.discord.conftest import (
    AUTO_CHANNEL,
    CUSTOMER,
    FORUM_CHANNEL,
    GUILD_ID,
    STAFF_CHANNEL,
    SUPPORT_CHANNEL,
    settle,
)
from tests.conftest import STAFF_CANARY
from tests.fakes.discord_api import custom_ids, snowflake

RETURN_QUESTION = "Can I return an opened item after 30 days?"


def with_buttons(api, channel_id):
    return [m for m in api.posted(channel_id) if custom_ids(m)]


async def test_a_mention_opens_a_thread_with_the_answer_and_buttons(start_client, api):
    bot = await start_client()
    asked = bot.message(RETURN_QUESTION)
    thread_id = asked["id"]  # a thread started from a message has the message's id
    [answer] = await api.wait_for(lambda: with_buttons(api, thread_id))

    [opened] = api.calls_to("POST", "/channels/{id}/messages/{id}/threads")
    assert opened.ids == [str(SUPPORT_CHANNEL), thread_id]
    assert opened.json["name"] == RETURN_QUESTION
    assert [c.ids for c in api.calls_to("POST", "/channels/{id}/typing")][0] == [thread_id]
    assert "**Sources**" in answer["content"]
    assert re.search(r"\[1\] \[[^\]]+\]\(<https?://\S+>\)", answer["content"])  # no unfurl
    answer_id = re.fullmatch(r"sb:yes:([0-9a-f]{32})", custom_ids(answer)[0]).group(1)
    assert custom_ids(answer) == [f"sb:yes:{answer_id}", f"sb:no:{answer_id}", f"sb:human:{answer_id}"]
    [post] = [c for c in api.calls_to("POST", "/channels/{id}/messages") if c.ids == [thread_id]]
    assert post.json["allowed_mentions"]["parse"] == []  # an answer never pings anyone
    conversation, stored = await bot.support.records.find_answer(answer_id)
    assert conversation.channel == f"{GUILD_ID}/{thread_id}" and stored.grounded
