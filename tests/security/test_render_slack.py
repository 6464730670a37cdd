"""Classes 1, 2 and 7 of issue 11 on Slack, through the real bolt app against the strict fake:
whatever a customer, the model or a document writes, the staff channel and the customer see
text, never live markup; answers link only to their own sources; odd text neither hangs nor
crashes; requests whose signature headers cannot be read are refused with 401."""

from __future__ import annotations

import asyncio
import json

import pytest

from adapters.slack import blocks
from bot.answering.links import safe_url
from tests.adapters.slack.conftest import (  # noqa: F401  (fixtures)
    _no_slack_tokens,
    bot_settings,
    fake_slack,
    harness,
    redis_prefix,
)
from tests.adapters.slack.harness import DM, PUBLIC, STAFF, event_body
from tests.security import attacks
from tests.security.slack_checks import problems, shown_text

TIMEOUT_S = 20  # a renderer that loops forever fails here instead of hanging the suite


def _button(message: dict, action_id: str) -> dict:
    return next(e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]
                if e["action_id"] == action_id)


def _knowledge_base_urls() -> set[str]:
    """The sample knowledge base's source URLs: real answers may link to them."""
    from pathlib import Path

    return {line.split(":", 1)[1].strip() for path in Path("config/knowledge").rglob("*.md")
            for line in path.read_text(encoding="utf-8").splitlines()[:12] if line.startswith("url:")}


# ----- class 1: a customer's words in the staff channel ---------------------------------------

@pytest.mark.parametrize("text", attacks.SLACK_CUSTOMER.values(), ids=attacks.SLACK_CUSTOMER.keys())
async def test_a_customer_question_reaches_the_staff_channel_as_text(harness, text):
    async def hand_over():
        thread = await harness.mention(text)
        [reply] = harness.slack.messages(PUBLIC, thread)
        await harness.press(blocks.TALK_TO_HUMAN, _button(reply, blocks.TALK_TO_HUMAN)["value"], message=reply)

    await asyncio.wait_for(hand_over(), TIMEOUT_S)
    [staff_post] = harness.slack.messages(STAFF)
    assert problems(harness.slack, _knowledge_base_urls(), quoting=True) == []
    assert "<!subteam^S0SUPPORT>" in json.dumps(staff_post["blocks"])  # our own ping still works
    assert "asked for a person" in staff_post["text"]


# ----- classes 1 and 2: what the model writes, in a thread and streamed in a DM -----------------

MODEL_CASES = {**attacks.MODEL, **attacks.ALLOWED, **attacks.ODD}


@pytest.mark.parametrize("text", MODEL_CASES.values(), ids=MODEL_CASES.keys())
async def test_a_model_reply_in_a_thread_has_no_live_markup_and_links_only_its_source(harness, monkeypatch, text):
    monkeypatch.setattr(harness.bot, "answer", attacks.crafted(attacks.answer(text)))
    thread = await asyncio.wait_for(harness.mention("How do refunds work?"), TIMEOUT_S)
    [reply] = harness.slack.messages(PUBLIC, thread)
    assert "answer_actions" in json.dumps(reply["blocks"])  # the answer itself, not the apology
    assert problems(harness.slack, {attacks.SOURCE_URL}) == []
    assert attacks.EVIL not in shown_text(harness.slack)


@pytest.mark.parametrize("text", MODEL_CASES.values(), ids=MODEL_CASES.keys())
async def test_a_streamed_model_reply_has_no_live_markup_and_no_link(harness, monkeypatch, text):
    monkeypatch.setattr(harness.bot, "answer", attacks.crafted(attacks.answer(text)))
    ts = await asyncio.wait_for(harness.message("How do refunds work?", channel=DM, channel_type="im"), TIMEOUT_S)
    [reply] = harness.slack.messages(DM, ts)
    assert not reply["streaming"]
    assert problems(harness.slack, {attacks.SOURCE_URL}) == []
    assert attacks.EVIL not in shown_text(harness.slack)


@pytest.mark.parametrize("text", attacks.ALLOWED.values(), ids=attacks.ALLOWED.keys())
async def test_a_link_to_the_answers_own_source_stays_a_link(harness, monkeypatch, text):
    monkeypatch.setattr(harness.bot, "answer", attacks.crafted(attacks.answer(text)))
    thread = await harness.mention("How do refunds work?")
    [reply] = harness.slack.messages(PUBLIC, thread)
    assert f"<{attacks.SOURCE_URL}|" in reply["blocks"][0]["text"]["text"]


# ----- class 1: what a document says ----------------------------------------------------------

@pytest.mark.parametrize("source", attacks.DOCUMENT_SOURCES.values(), ids=attacks.DOCUMENT_SOURCES.keys())
@pytest.mark.parametrize("where", ["thread", "dm"])
async def test_a_documents_title_and_url_cannot_put_markup_in_an_answer(harness, monkeypatch, source, where):
    reply = attacks.answer("Refunds take 5 days [1].", sources=[source])
    monkeypatch.setattr(harness.bot, "answer", attacks.crafted(reply))
    if where == "thread":
        await harness.mention("How do refunds work?")
    else:
        await harness.message("How do refunds work?", channel=DM, channel_type="im")
    assert problems(harness.slack, {attacks.SOURCE_URL, safe_url(source.url)}) == []
    shown = shown_text(harness.slack)
    assert "Refunds take 5 days" in shown and "Sources" in shown


# ----- class 7: requests Slack never signed ---------------------------------------------------

UNREADABLE_HEADERS = {
    "timestamp-words": {"x-slack-request-timestamp": "yesterday"},
    "timestamp-empty": {"x-slack-request-timestamp": ""},
    "timestamp-float": {"x-slack-request-timestamp": "1700000000.5"},
    "timestamp-huge": {"x-slack-request-timestamp": "9" * 400},
    "timestamp-unicode-digits": {"x-slack-request-timestamp": "١٧٠٠٠٠٠٠٠٠"},
    "signature-unicode": {"x-slack-signature": "v0=é" + "0" * 63},
    "signature-wrong": {"x-slack-signature": "v0=" + "0" * 64},
    "signature-missing": {"x-slack-signature": ""},
    "stale": {"x-slack-request-timestamp": "1000000000"},
}


@pytest.mark.parametrize("override", UNREADABLE_HEADERS.values(), ids=UNREADABLE_HEADERS.keys())
async def test_a_request_whose_signature_cannot_be_verified_gets_401_not_500(harness, override):
    from slack_bolt.request.async_request import AsyncBoltRequest

    from tests.adapters.slack.harness import signed_headers

    body = event_body({"type": "app_mention", "user": "UASKER", "text": "<@U0BOT> hi", "ts": "1800000000.000100",
                       "channel": PUBLIC, "event_ts": "1800000000.000100"})
    headers = {**signed_headers(body, "application/json"), **override}
    response = await harness.app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))
    assert response.status == 401
    assert harness.slack.calls("chat.postMessage") == []


# ----- streamed text cut anywhere ---------------------------------------------------------------

SPLIT_ME = f"Use the [Refund form]({attacks.EVIL}) or <{attacks.EVIL}|this> <!channel> now [1]."


@pytest.mark.parametrize("cut", range(1, len(SPLIT_ME), 3))
def test_a_link_or_mention_split_between_deltas_is_never_live(cut):
    from adapters.slack.stream_text import StreamText

    stream = StreamText()
    sent = stream.push(SPLIT_ME[:cut]) + stream.push(SPLIT_ME[cut:]) + stream.flush()
    assert attacks.EVIL not in sent and "<" not in sent and "](" not in sent
    assert "Use the" in sent and "now [1]." in sent
