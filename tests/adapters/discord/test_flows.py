"""Messages through discord.py: threads, follow-ups, DMs, forum posts, streaming, failures."""

from __future__ import annotations

import re

from tests.adapters.discord.conftest import (
    AUTO_CHANNEL,
    CUSTOMER,
    FORUM_CHANNEL,
    GUILD_ID,
    STAFF_CHANNEL,
    STAFF_ROLE,
    SUPPORT_CHANNEL,
    settle,
)
from tests.conftest import STAFF_CANARY
from tests.fakes.discord_payloads import custom_ids, sealed_fields, snowflake

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
    fields = [sealed_fields(i) for i in custom_ids(answer)]
    assert [f["kind"] for f in fields] == ["yes", "no", "human"]
    answer_id = fields[0]["subject"]
    assert re.fullmatch(r"[0-9a-f]{32}", answer_id) and {f["subject"] for f in fields} == {answer_id}
    assert {f["asker"] for f in fields} == {asked["author"]["id"]}
    [post] = [c for c in api.calls_to("POST", "/channels/{id}/messages") if c.ids == [thread_id]]
    assert post.json["allowed_mentions"]["parse"] == []  # an answer never pings anyone
    conversation, stored = await bot.support.records.find_answer(answer_id)
    assert conversation.channel == f"{GUILD_ID}/{thread_id}" and stored.grounded


async def test_follow_ups_in_the_thread_need_no_mention_and_other_threads_are_left_alone(start_client, api):
    bot = await start_client()
    asked = bot.message("How much does the return label cost?")
    thread_id = asked["id"]
    await api.wait_for(lambda: with_buttons(api, thread_id))
    bot.thread_created(thread_id, SUPPORT_CHANNEL)  # the gateway announces the bot's new thread
    other = snowflake()
    bot.thread_created(other, SUPPORT_CHANNEL, owner=int(CUSTOMER["id"]))

    bot.message("Chatting among ourselves", channel=other, mention=False)
    bot.message("And what about Canada?", channel=int(thread_id), mention=False)
    await api.wait_for(lambda: len(with_buttons(api, thread_id)) == 2)
    await settle()
    assert api.posted(other) == []
    assert len(api.calls_to("POST", "/channels/{id}/messages/{id}/threads")) == 1  # no second thread


async def test_following_survives_a_restart_and_an_uncached_thread(start_client, api):
    first = await start_client()
    thread_id = first.message("Do you ship to Canada?")["id"]
    await api.wait_for(lambda: with_buttons(api, thread_id))
    await first.close()
    # A new process: its cache has never seen the thread, so discord.py only has a partial channel.
    second = await start_client()
    second.message("How long does it take?", channel=int(thread_id), mention=False)
    await api.wait_for(lambda: len(with_buttons(api, thread_id)) == 2)
    assert [c.ids for c in api.calls_to("GET", "/channels/{id}")] == [[thread_id]]


async def test_auto_answer_channels_and_dms_need_no_mention(start_client, api):
    bot = await start_client()
    auto = bot.message("How long is the warranty?", channel=AUTO_CHANNEL, mention=False)
    dm_channel = snowflake()
    bot.message("How long is the warranty?", channel=dm_channel, mention=False, dm=True)
    bot.message("Just chatting here", channel=SUPPORT_CHANNEL, mention=False)
    await api.wait_for(lambda: with_buttons(api, auto["id"]) and with_buttons(api, dm_channel))
    await settle()
    threads = api.calls_to("POST", "/channels/{id}/messages/{id}/threads")
    assert [t.ids[0] for t in threads] == [str(AUTO_CHANNEL)]  # the DM is answered in place
    assert api.posted(SUPPORT_CHANNEL) == []


async def test_a_new_forum_post_is_answered_in_its_thread(start_client, api):
    bot = await start_client()
    post_id = snowflake()
    bot.thread_created(post_id, FORUM_CHANNEL, owner=int(CUSTOMER["id"]), name="Returns")
    bot.message(RETURN_QUESTION, channel=post_id, mention=False, message_id=post_id)
    await api.wait_for(lambda: with_buttons(api, post_id))
    assert api.calls_to("POST", "/channels/{id}/messages/{id}/threads") == []


async def test_staff_channels_see_staff_documents_and_a_staff_role_in_public_does_not(start_client, api):
    bot = await start_client()
    question = "What is the exception code agents type for refund exceptions, and the approval limit?"
    public = bot.message(question)
    staff_channel = bot.message(question, channel=STAFF_CHANNEL)
    staff_role = bot.message(question, roles=(STAFF_ROLE,))
    await api.wait_for(lambda: all(with_buttons(api, m["id"]) for m in (public, staff_channel, staff_role)))
    text = {name: "\n".join(m["content"] for m in api.posted(msg["id"]))
            for name, msg in (("public", public), ("channel", staff_channel), ("role", staff_role))}
    assert "Refund exceptions" not in text["public"] and STAFF_CANARY not in text["public"]
    assert "Refund exception" in text["channel"]
    assert "Refund exceptions" not in text["role"] and STAFF_CANARY not in text["role"]
