"""Questions through the real bolt app: mentions, follow-ups, DMs, auto-answer channels, retries."""

from __future__ import annotations

import json

from adapters.slack import blocks
from adapters.slack.refs import ThreadRef
from tests.adapters.slack.harness import ASKER, AUTO, PUBLIC
from tests.conftest import STAFF_CANARY


def _text_of(message: dict) -> str:
    return "\n".join(b["text"]["text"] for b in message["blocks"] if b["type"] == "section")


def _buttons(message: dict) -> list[dict]:
    return [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


async def test_mention_gets_a_threaded_reply_with_sources_and_buttons(harness):
    thread = await harness.mention("Can I return an opened item after 30 days?")
    placeholder = harness.slack.calls("chat.postMessage")[0]
    assert placeholder.args["thread_ts"] == thread and placeholder.args["text"] == blocks.PLACEHOLDER
    [reply] = harness.slack.messages(PUBLIC, thread)
    assert "return" in _text_of(reply).lower()
    sources = [b for b in reply["blocks"] if b["type"] == "context"]
    assert sources and "*Sources*" in sources[0]["elements"][0]["text"]
    assert "1. <https://" in sources[0]["elements"][0]["text"]
    labels = [b["text"]["text"] for b in _buttons(reply)]
    assert labels == ["Helpful", "Not helpful", "Talk to a human"]
    signer = await harness.bot.button_signer()
    human, helpful = signer.open(_buttons(reply)[2]["value"]), signer.open(_buttons(reply)[0]["value"])
    assert (human.channel, human.thread, human.asker) == (PUBLIC, thread, ASKER)
    assert human.subject == helpful.subject and await harness.bot.records.find_answer(human.subject)


async def test_follow_up_in_the_thread_needs_no_mention_and_uses_the_memory(harness):
    thread = await harness.mention("How long do refunds take?")
    await harness.message("and what about exchanges?", thread_ts=thread)
    replies = harness.slack.messages(PUBLIC, thread)
    assert len(replies) == 2
    history = await harness.bot.history(ThreadRef(PUBLIC, thread).conversation)
    questions = [t.text for t in history if t.role == "user"]
    assert questions == ["How long do refunds take?", "and what about exchanges?"]


async def test_messages_in_threads_the_bot_never_answered_are_left_alone(harness):
    await harness.message("Can I return an opened item?")  # top level, no mention
    await harness.message("anyone know about returns?", thread_ts="1799999999.000100")
    assert harness.slack.calls("chat.postMessage") == []


async def test_auto_answer_channel_and_direct_messages_need_no_mention(harness):
    thread = await harness.message("How long does shipping take?", channel=AUTO)
    assert len(harness.slack.messages(AUTO, thread)) == 1
    dm_ts = await harness.message("How long does shipping take?", channel="D0ASKER", channel_type="im")
    assert len(harness.slack.messages("D0ASKER", dm_ts)) == 1  # replies in a thread under the DM


async def test_a_mention_also_delivered_as_a_message_event_is_answered_once(harness):
    # Slack sends both app_mention and message.channels for a mention in a channel the bot reads.
    thread = await harness.mention("How long does shipping take?", channel=AUTO)
    await harness.message(f"<@U0BOT> How long does shipping take?", channel=AUTO)
    assert len(harness.slack.messages(AUTO, thread)) == 1


async def test_a_retried_delivery_gives_one_reply(harness):
    thread = await harness.mention("How long does shipping take?", event_id="Ev0RETRY1")
    response = await harness.event(
        {"type": "app_mention", "user": "UASKER", "text": "<@U0BOT> How long does shipping take?",
         "ts": thread, "channel": PUBLIC, "event_ts": thread},
        event_id="Ev0RETRY1", extra={"x-slack-retry-num": "1", "x-slack-retry-reason": "http_timeout"})
    assert response.status == 200
    assert len(harness.slack.calls("chat.postMessage")) == 1
    assert len(harness.slack.messages(PUBLIC, thread)) == 1


async def test_staff_canary_never_reaches_a_public_channel_but_staff_see_it(harness):
    question = "What is the exception code agents type for refund exceptions, and the approval limit?"
    public_thread = await harness.mention(question)
    public_text = json.dumps(harness.slack.messages(PUBLIC, public_thread))
    assert STAFF_CANARY not in public_text and "$250" not in public_text
    assert "refund-exceptions" not in public_text  # nor is the staff document cited
    staff_thread = await harness.mention(question, channel="CSTAFF")
    staff_text = json.dumps(harness.slack.messages("CSTAFF", staff_thread))
    assert "$250" in staff_text  # the same question in a staff channel reaches the staff document


async def test_an_empty_mention_gets_a_hint_not_silence(harness):
    thread = await harness.mention("")
    [reply] = harness.slack.messages(PUBLIC, thread)
    assert "Ask me a question" in _text_of(reply)
