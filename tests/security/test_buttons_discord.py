"""Class 3 on Discord, through discord.py against the strict Discord fake: buttons carry authority.

Every custom_id the bot writes is sealed; a forged, changed or expired one is refused privately
(an ephemeral reply) and changes nothing. Mark resolved is for staff (staff, support or admin
roles); Talk to a human and feedback for the person who asked, or staff.
"""

from __future__ import annotations

import json

import pytest

from adapters.discord.convert import conversation_at
from bot import buttons
from tests.adapters.discord.conftest import (  # noqa: F401  (fixtures)
    ADMIN_ROLE,
    AGENT,
    ESCALATION_CHANNEL,
    STAFF_ROLE,
    SUPPORT_CHANNEL,
    SUPPORT_ROLE,
    api,
    redis_prefix,
    settle,
    start_client,
)
from tests.fakes.discord_payloads import GUILD_ID, channel_payload, custom_ids, thread_payload, user_payload
from tests.security.tampering import EXPIRED, TAMPERS

OTHER = user_payload(1_400_000_000_000_000_077, "mallory")
KINDS = ["human", "yes", "no"]


async def _answered(bot, api, question="How much does the return label cost?"):
    thread_id = bot.message(question)["id"]
    [answer] = await api.wait_for(lambda: [m for m in api.posted(thread_id) if custom_ids(m)])
    return thread_id, answer


def _button(answer: dict, kind: str) -> str:
    return next(i for i in custom_ids(answer) if i.startswith(f"sb:{kind}:"))


def _replies(api, press: dict) -> list[dict]:
    return [c.json for c in api.calls_to("POST", "/interactions/{id}/{token}/callback")
            if c.ids == [press["id"], press["token"]]]


def _tampered(custom_id: str, signer, tamper: str) -> str:
    kind, value = custom_id.split(":", 2)[1:]
    return f"sb:{kind}:{TAMPERS[tamper](value, signer)}"


def _carrying(message: dict, genuine: str, forged: str) -> dict:
    """The message as Discord would send it with the press: a press can only come from a button
    the message has, so the forged custom_id is put on the message itself."""
    return json.loads(json.dumps(message).replace(json.dumps(genuine), json.dumps(forged)))


async def _private_reply(api, press) -> str:
    await settle()
    [reply] = _replies(api, press)
    assert reply["data"]["flags"] == 64  # ephemeral: only the presser sees it
    return reply["data"]["content"]


@pytest.mark.parametrize("tamper", sorted(TAMPERS))
@pytest.mark.parametrize("kind", KINDS)
async def test_a_tampered_answer_button_is_refused_privately_and_does_nothing(start_client, api, kind, tamper):
    bot = await start_client()
    thread_id, answer = await _answered(bot, api)
    genuine = _button(answer, kind)
    forged = _tampered(genuine, await bot.support.button_signer(), tamper)
    press = bot.press(forged, _carrying(answer, genuine, forged),
                      channel=thread_payload(int(thread_id), SUPPORT_CHANNEL, "t"))
    expected = buttons.EXPIRED if tamper in EXPIRED else buttons.FORGED
    assert await _private_reply(api, press) == expected
    assert api.posted(ESCALATION_CHANNEL) == []
    assert not await bot.support.is_escalated(conversation_at(GUILD_ID, int(thread_id)))


@pytest.mark.parametrize("tamper", ["garbage", "tag-flipped", "other-subject", "expired", "other-secret"])
async def test_a_tampered_mark_resolved_is_refused_and_the_hand_over_stays_open(start_client, api, tamper):
    bot = await start_client()
    thread_id, answer = await _answered(bot, api)
    bot.press(_button(answer, "human"), answer, channel=thread_payload(int(thread_id), SUPPORT_CHANNEL, "t"))
    [report] = await api.wait_for(lambda: api.posted(ESCALATION_CHANNEL))
    genuine = custom_ids(report)[0]
    forged = _tampered(genuine, await bot.support.button_signer(), tamper)
    press = bot.press(forged, _carrying(report, genuine, forged), channel=channel_payload(ESCALATION_CHANNEL, "esc"),
                      user=AGENT, roles=(SUPPORT_ROLE,))
    assert await _private_reply(api, press) == (buttons.EXPIRED if tamper in EXPIRED else buttons.FORGED)
    assert await bot.support.is_escalated(conversation_at(GUILD_ID, int(thread_id)))


@pytest.mark.parametrize("kind", KINDS)
async def test_another_customer_cannot_press_the_askers_buttons(start_client, api, kind):
    bot = await start_client()
    thread_id, answer = await _answered(bot, api)
    press = bot.press(_button(answer, kind), answer, channel=thread_payload(int(thread_id), SUPPORT_CHANNEL, "t"),
                      user=OTHER)
    assert await _private_reply(api, press) == buttons.ASKER_ONLY
    assert not await bot.support.is_escalated(conversation_at(GUILD_ID, int(thread_id)))


@pytest.mark.parametrize("roles, allowed", [((), False), ((STAFF_ROLE,), True), ((SUPPORT_ROLE,), True),
                                            ((ADMIN_ROLE,), True)])
async def test_only_staff_may_mark_resolved(start_client, api, roles, allowed):
    bot = await start_client()
    thread_id, answer = await _answered(bot, api)
    bot.press(_button(answer, "human"), answer, channel=thread_payload(int(thread_id), SUPPORT_CHANNEL, "t"))
    [report] = await api.wait_for(lambda: api.posted(ESCALATION_CHANNEL))
    press = bot.press(custom_ids(report)[0], report, channel=channel_payload(ESCALATION_CHANNEL, "esc"),
                      user=OTHER, roles=roles)
    await settle()
    escalated = await bot.support.is_escalated(conversation_at(GUILD_ID, int(thread_id)))
    assert escalated is not allowed
    if not allowed:
        assert await _private_reply(api, press) == buttons.STAFF_ONLY


@pytest.mark.parametrize("roles", [(STAFF_ROLE,), (SUPPORT_ROLE,)])
async def test_staff_may_hand_over_a_customers_thread(start_client, api, roles):
    bot = await start_client()
    thread_id, answer = await _answered(bot, api)
    bot.press(_button(answer, "human"), answer, channel=thread_payload(int(thread_id), SUPPORT_CHANNEL, "t"),
              user=AGENT, roles=roles)
    await api.wait_for(lambda: api.posted(ESCALATION_CHANNEL))
    assert await bot.support.is_escalated(conversation_at(GUILD_ID, int(thread_id)))


def _unreadable_index(*args, **kwargs):
    raise RuntimeError("index files are corrupt")


async def test_an_apology_button_from_another_server_is_refused(start_client, api, monkeypatch):
    bot = await start_client()
    monkeypatch.setattr(bot.support.retriever, "retrieve", _unreadable_index)  # the answer is an apology
    thread_id, apology = await _answered(bot, api)
    [human] = custom_ids(apology)
    press = bot.press(human, apology, channel=thread_payload(int(thread_id), SUPPORT_CHANNEL, "t"), guild_id=None)
    assert await _private_reply(api, press) == buttons.FORGED
    assert not await bot.support.is_escalated(conversation_at(GUILD_ID, int(thread_id)))
