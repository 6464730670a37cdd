"""Class 3 on Slack, through the real bolt app and the strict Slack fake: buttons carry authority.

Every value the bot writes is sealed; a forged, changed, replayed or expired value is refused
privately and changes nothing. Mark resolved is for staff; Talk to a human and feedback for the
person who asked (or staff). Slack Connect guests are never staff.
"""

from __future__ import annotations

import pytest

from adapters.slack import blocks
from bot import buttons
from tests.adapters.slack.conftest import (  # noqa: F401  (fixtures)
    bot_settings,
    fake_slack,
    harness,
    redis_prefix,
)
from tests.adapters.slack.harness import ADMIN, AGENT, ASKER, PUBLIC, STAFF
from tests.security.tampering import EXPIRED, TAMPERS, resealed

OTHER = "UOTHERCUSTOMER"
ACTION_IDS = {blocks.TALK_TO_HUMAN: buttons.HUMAN, blocks.HELPFUL: buttons.HELPFUL,
              blocks.NOT_HELPFUL: buttons.NOT_HELPFUL}


def _button(message: dict, action_id: str) -> dict:
    return next(e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]
                if e["action_id"] == action_id)


async def _answered(harness, question="How long do refunds take?") -> tuple[str, dict]:
    thread = await harness.mention(question)
    [reply] = harness.slack.messages(PUBLIC, thread)
    return thread, reply


async def _handed_over(harness) -> tuple[str, dict, dict]:
    """A thread handed over by its asker; returns it, the reply and the staff post."""
    thread, reply = await _answered(harness)
    await harness.press(blocks.TALK_TO_HUMAN, _button(reply, blocks.TALK_TO_HUMAN)["value"], message=reply)
    [staff_post] = harness.slack.messages(STAFF)
    return thread, reply, staff_post


def _staff_posts(harness) -> list:
    return [c for c in harness.slack.calls("chat.postMessage") if c.args.get("channel") == STAFF]


def _last_private(harness) -> str:
    return harness.slack.calls("response_url")[-1].args["text"]


async def _subject(harness, value: str) -> str:
    return (await harness.bot.button_signer()).open(value).subject



@pytest.fixture
def conversation_of():
    from adapters.slack.refs import ThreadRef
    return lambda thread: ThreadRef(PUBLIC, thread).conversation


@pytest.mark.parametrize("tamper", sorted(TAMPERS))
@pytest.mark.parametrize("action_id", sorted(ACTION_IDS))
async def test_a_tampered_answer_button_is_refused_privately_and_does_nothing(harness, conversation_of,
                                                                             action_id, tamper):
    thread, reply = await _answered(harness)
    genuine = _button(reply, action_id)["value"]
    answer_id = await _subject(harness, genuine)
    forged = TAMPERS[tamper](genuine, await harness.bot.button_signer())
    response = await harness.press(action_id, forged, message=reply)
    assert response.status == 200
    expected = buttons.EXPIRED if tamper in EXPIRED else buttons.FORGED
    assert _last_private(harness) == expected
    assert _staff_posts(harness) == []
    assert not await harness.bot.is_escalated(conversation_of(thread))
    assert await harness.bot.records.feedback_for(answer_id) == []
    assert len(harness.slack.messages(PUBLIC, thread)) == 1  # nothing said in the thread


@pytest.mark.parametrize("tamper", sorted(TAMPERS))
async def test_a_tampered_mark_resolved_is_refused_and_the_hand_over_stays_open(harness, conversation_of, tamper):
    thread, _, staff_post = await _handed_over(harness)
    genuine = _button(staff_post, blocks.MARK_RESOLVED)["value"]
    forged = TAMPERS[tamper](genuine, await harness.bot.button_signer())
    await harness.press(blocks.MARK_RESOLVED, forged, user=AGENT, channel=STAFF,
                        message={"ts": staff_post["ts"], "blocks": staff_post["blocks"]})
    assert _last_private(harness) == (buttons.EXPIRED if tamper in EXPIRED else buttons.FORGED)
    assert await harness.bot.is_escalated(conversation_of(thread))


@pytest.mark.parametrize("action_id, other_action", [
    (blocks.HELPFUL, buttons.RESOLVE), (blocks.MARK_RESOLVED, buttons.HUMAN),
    (blocks.TALK_TO_HUMAN, buttons.HELPFUL), (blocks.NOT_HELPFUL, buttons.HELPFUL)])
async def test_a_genuine_value_for_another_button_is_refused(harness, conversation_of, action_id, other_action):
    thread, reply = await _answered(harness)
    value = resealed(_button(reply, blocks.TALK_TO_HUMAN)["value"], await harness.bot.button_signer(),
                     action=other_action)
    await harness.press(action_id, value, user=AGENT, message=reply)
    assert _last_private(harness) == buttons.FORGED
    assert not await harness.bot.is_escalated(conversation_of(thread))


@pytest.mark.parametrize("where", ["another-thread", "another-channel", "staff-channel"])
async def test_a_genuine_value_pressed_in_another_place_is_refused(harness, conversation_of, where):
    thread, reply = await _answered(harness)
    other_thread, other_reply = await _answered(harness, "How long does shipping take?")
    value = _button(reply, blocks.TALK_TO_HUMAN)["value"]
    channel = {"another-thread": PUBLIC, "another-channel": "CAUTO", "staff-channel": STAFF}[where]
    message = other_reply if where == "another-thread" else None
    await harness.press(blocks.TALK_TO_HUMAN, value, channel=channel, message=message)
    assert _last_private(harness) == buttons.FORGED
    assert _staff_posts(harness) == []
    assert not await harness.bot.is_escalated(conversation_of(thread))
    assert not await harness.bot.is_escalated(conversation_of(other_thread))


@pytest.mark.parametrize("action_id", sorted(ACTION_IDS))
async def test_another_customer_cannot_press_the_askers_buttons(harness, conversation_of, action_id):
    thread, reply = await _answered(harness)
    value = _button(reply, action_id)["value"]
    await harness.press(action_id, value, user=OTHER, message=reply)
    assert _last_private(harness) == buttons.ASKER_ONLY
    assert not await harness.bot.is_escalated(conversation_of(thread))
    assert await harness.bot.records.feedback_for(await _subject(harness, value)) == []


@pytest.mark.parametrize("who, channel, team", [
    (ASKER, PUBLIC, None), (OTHER, PUBLIC, None), (OTHER, STAFF, "T0ELSEWHERE"), (ADMIN + "X", PUBLIC, None)])
async def test_mark_resolved_is_refused_to_anyone_not_staff(harness, conversation_of, who, channel, team):
    thread, _, staff_post = await _handed_over(harness)
    value = _button(staff_post, blocks.MARK_RESOLVED)["value"]
    await harness.press(blocks.MARK_RESOLVED, value, user=who, channel=channel,
                        **({"user_team": team} if team else {}))
    assert _last_private(harness) == buttons.STAFF_ONLY
    assert await harness.bot.is_escalated(conversation_of(thread))


@pytest.mark.parametrize("who, channel", [(AGENT, STAFF), (ADMIN, STAFF), ("UANYSTAFFMEMBER", STAFF)])
async def test_staff_may_resolve(harness, conversation_of, who, channel):
    thread, _, staff_post = await _handed_over(harness)
    await harness.press(blocks.MARK_RESOLVED, _button(staff_post, blocks.MARK_RESOLVED)["value"], user=who,
                        channel=channel, message={"ts": staff_post["ts"], "blocks": staff_post["blocks"]})
    assert not await harness.bot.is_escalated(conversation_of(thread))


@pytest.mark.parametrize("who", [ASKER, AGENT, ADMIN])
async def test_the_asker_and_staff_may_hand_over(harness, conversation_of, who):
    thread, reply = await _answered(harness)
    await harness.press(blocks.TALK_TO_HUMAN, _button(reply, blocks.TALK_TO_HUMAN)["value"], user=who,
                        message=reply)
    assert await harness.bot.is_escalated(conversation_of(thread))
    assert len(_staff_posts(harness)) == 1


async def test_a_slack_connect_guest_is_not_staff_even_if_listed(harness, conversation_of):
    thread, reply = await _answered(harness)
    await harness.press(blocks.TALK_TO_HUMAN, _button(reply, blocks.TALK_TO_HUMAN)["value"], user=AGENT,
                        message=reply, user_team="T0ELSEWHERE")
    assert _last_private(harness) == buttons.ASKER_ONLY
    assert not await harness.bot.is_escalated(conversation_of(thread))
