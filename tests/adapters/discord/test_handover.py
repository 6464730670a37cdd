"""Buttons: hand-over to the staff channel (after a restart too), quiet until resolved, feedback."""

from __future__ import annotations

import json
import re

from adapters.discord.convert import conversation_at
from tests.adapters.discord.conftest import (
    AGENT,
    ESCALATION_CHANNEL,
    GUILD_ID,
    SUPPORT_CHANNEL,
    STAFF_ROLE,
    SUPPORT_ROLE,
    settle,
)
from tests.fakes.discord_payloads import channel_payload, custom_ids, sealed_fields, thread_payload

QUESTION = "How much does the return label cost?"


def answers_in(api, thread_id):
    return [m for m in api.posted(thread_id) if custom_ids(m)]


def callbacks(api, interaction: dict):
    return [c.json for c in api.calls_to("POST", "/interactions/{id}/{token}/callback")
            if c.ids == [interaction["id"], interaction["token"]]]


async def ask_in_thread(bot, api, question=QUESTION):
    thread_id = bot.message(question)["id"]
    [answer] = await api.wait_for(lambda: answers_in(api, thread_id))
    return thread_id, answer


async def test_talk_to_a_human_after_a_restart_escalates_and_the_bot_stays_quiet_until_resolved(
        start_client, api):
    before = await start_client()
    thread_id, answer = await ask_in_thread(before, api)
    await before.close()

    after = await start_client()  # a new process on the same Redis: no view was ever registered
    thread = thread_payload(int(thread_id), SUPPORT_CHANNEL, "t")
    human = next(i for i in custom_ids(answer) if i.startswith("sb:human:"))
    press = after.press(human, answer, channel=thread)
    [report] = await api.wait_for(lambda: api.posted(ESCALATION_CHANNEL))

    [ack] = callbacks(api, press)
    assert ack["type"] == 4 and "passed this conversation" in ack["data"]["content"]
    assert not ack["data"].get("flags")  # said in the thread, for everyone in it
    assert report["content"].startswith(f"<@&{SUPPORT_ROLE}> **Hand-over requested**")
    assert f"https://discord.com/channels/{GUILD_ID}/{thread_id}" in report["content"]
    assert f"> **Customer:** {QUESTION}" in report["content"]
    [post] = [c for c in api.calls_to("POST", "/channels/{id}/messages") if c.ids == [str(ESCALATION_CHANNEL)]]
    assert [str(r) for r in post.json["allowed_mentions"]["roles"]] == [str(SUPPORT_ROLE)]
    [resolve_id] = custom_ids(report)
    assert resolve_id.startswith("sb:resolve:") and re.fullmatch(r"[0-9a-f]{32}", sealed_fields(resolve_id)["subject"])

    # Quiet until resolved: a follow-up, even a mention, gets nothing.
    after.message("Hello? Anyone?", channel=int(thread_id), mention=False)
    after.message("Still there?", channel=int(thread_id))
    await settle()
    assert len(answers_in(api, thread_id)) == 1

    # A second press does not post the hand-over again.
    again = after.press(human, answer, channel=thread)
    await settle()
    assert len(api.posted(ESCALATION_CHANNEL)) == 1 and callbacks(api, again)[0]["data"]["flags"] == 64

    staff_room = channel_payload(ESCALATION_CHANNEL, "support-escalations")
    resolve = after.press(resolve_id, report, channel=staff_room, user=AGENT, roles=(SUPPORT_ROLE,))
    notice = await api.wait_for(lambda: [m for m in api.posted(thread_id) if "marked this conversation resolved"
                                         in m["content"]])
    [update] = callbacks(api, resolve)
    assert update["type"] == 7 and update["data"]["content"].endswith(f"Resolved by <@{AGENT['id']}>")
    assert update["data"]["components"] == []  # the button is gone
    assert notice[0]["content"].startswith(f"<@{AGENT['id']}>")

    after.message("How long do refunds take?", channel=int(thread_id), mention=False)
    await api.wait_for(lambda: len(answers_in(api, thread_id)) == 2)  # answering again


async def test_the_apology_button_escalates_its_conversation(start_client, api, monkeypatch):
    bot = await start_client()

    def broken(*args, **kwargs):
        raise RuntimeError("index files are corrupt")

    monkeypatch.setattr(bot.support.retriever, "retrieve", broken)
    thread_id, apology = await ask_in_thread(bot, api)
    [button] = custom_ids(apology)
    bot.press(button, apology, channel=thread_payload(int(thread_id), SUPPORT_CHANNEL, "t"))
    [report] = await api.wait_for(lambda: api.posted(ESCALATION_CHANNEL))
    assert f"/channels/{GUILD_ID}/{thread_id}" in report["content"]
    assert await bot.support.open_escalation(conversation_at(GUILD_ID, int(thread_id)))


async def test_feedback_buttons_record_a_vote_privately(start_client, api):
    bot = await start_client()
    thread_id, answer = await ask_in_thread(bot, api)
    yes, no = custom_ids(answer)[:2]
    thread = thread_payload(int(thread_id), SUPPORT_CHANNEL, "t")
    first = bot.press(yes, answer, channel=thread)
    second = bot.press(no, answer, channel=thread, user=AGENT, roles=(STAFF_ROLE,))  # staff may vote too
    await settle()
    assert [c["data"]["flags"] for c in callbacks(api, first) + callbacks(api, second)] == [64, 64]
    answer_id = sealed_fields(yes)["subject"]
    votes = {f.user_id: f.helpful for f in await bot.support.records.feedback_for(answer_id)}
    assert votes == {"1400000000000000001": True, AGENT["id"]: False}


async def test_buttons_of_a_forgotten_answer_say_so(start_client, api):
    bot = await start_client()
    thread_id, answer = await ask_in_thread(bot, api)
    # The same message, its answer expired from Redis (the answer id is no longer known).
    yes = custom_ids(answer)[0]
    await bot.support.state.redis.run(
        lambda r: r.delete(bot.support.state.redis.key("answer-id", sealed_fields(yes)["subject"])))
    press = bot.press(yes, answer, channel=thread_payload(int(thread_id), SUPPORT_CHANNEL, "t"))
    await settle()
    [reply] = callbacks(api, press)
    assert reply["data"]["flags"] == 64 and "can't find that answer" in reply["data"]["content"]
