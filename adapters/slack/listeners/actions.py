"""Buttons: Talk to a human, Helpful / Not helpful, and the staff channel's Mark resolved.

Each acknowledges at once (Slack shows an error after 3 seconds), then checks the press before
acting: the value must be one the bot sealed (bot/buttons.py) for this button, pressed in the
thread it names, by someone allowed to (Mark resolved: staff; the others: the asker or staff).
A refused press is answered privately and changes nothing. Then the service owns the rules: one
open hand-over per thread, the first resolver recorded, one vote per person.
"""

from __future__ import annotations

import re
from typing import Any

import structlog
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import blocks
from adapters.slack.convert import PLATFORM, action_user, action_value, is_ephemeral
from adapters.slack.delivery import respond_privately
from adapters.slack.listeners.authority import presser
from adapters.slack.refs import ThreadRef
from adapters.slack.runtime import Runtime
from bot import buttons
from bot.buttons import BadButton, ButtonClaim, press_refusal
from bot.types import Escalation

log = structlog.get_logger(__name__)

ALREADY_HANDED_OVER = "This conversation is already with our support team; a person will follow up here."
NO_STAFF_CHANNEL = ("Sorry, I couldn't reach our support team just now. Please try the button again in "
                    "a few minutes.")
THANKS_HELPFUL = "Thanks for letting us know this helped."
THANKS_NOT_HELPFUL = ("Thanks, noted: we use this to improve the answers. If you still need help, press "
                      "*Talk to a human*.")
ANSWER_GONE = "I can no longer find that answer (answers are kept for 30 days). Ask me again if you need it."
BACK = "A person marked this conversation resolved. Mention me here if you have another question."
_MESSAGE_TS = re.compile(r"\d+\.\d+")


def register(app: AsyncApp, rt: Runtime) -> None:
    @app.action(blocks.TALK_TO_HUMAN)
    async def talk_to_human(ack, body: dict[str, Any], client: AsyncWebClient, respond) -> None:
        await ack()
        async with rt.working():
            await _hand_over(rt, client, respond, body)

    @app.action(blocks.HELPFUL)
    async def helpful(ack, body: dict[str, Any], respond) -> None:
        await ack()
        async with rt.working():
            await _feedback(rt, respond, body, helpful=True)

    @app.action(blocks.NOT_HELPFUL)
    async def not_helpful(ack, body: dict[str, Any], respond) -> None:
        await ack()
        async with rt.working():
            await _feedback(rt, respond, body, helpful=False)

    @app.action(blocks.MARK_RESOLVED)
    async def mark_resolved(ack, body: dict[str, Any], client: AsyncWebClient, respond) -> None:
        await ack()
        async with rt.working():
            await _resolve(rt, client, respond, body)


async def _checked(rt: Runtime, respond, body: dict[str, Any], *actions: str) -> ButtonClaim | None:
    """The press's verified claim, or None after telling the presser privately why not."""
    signer = await rt.bot.button_signer()
    try:
        claim = signer.open(action_value(body))
        if claim.action not in actions:  # a value sealed for another button
            raise BadButton(buttons.FORGED, f"{claim.action!r} value on a {actions} button")
        if claim.action != buttons.RESOLVE and not _pressed_in(body, claim):
            raise BadButton(buttons.FORGED, "pressed outside the thread it names")
    except BadButton as exc:
        log.warning("refused a button press", reason=str(exc), user=action_user(body))
        await _private(respond, exc.reply)
        return None
    if refusal := press_refusal(claim, presser(body, rt.slack)):
        log.info("refused a button press by someone not allowed", action=claim.action, user=action_user(body))
        await _private(respond, refusal)
        return None
    return claim


def _pressed_in(body: dict[str, Any], claim: ButtonClaim) -> bool:
    """The button is on a message in the channel (and thread) its value names."""
    if (body.get("channel") or {}).get("id", "") != claim.channel:
        return False
    message = body.get("message")
    if message is None or is_ephemeral(body):  # a private (/ask) answer: in no thread
        return True
    return (message.get("thread_ts") or message.get("ts")) == claim.thread


async def _hand_over(rt: Runtime, client: AsyncWebClient, respond, body: dict[str, Any]) -> None:
    if (claim := await _checked(rt, respond, body, buttons.HUMAN)) is None:
        return
    ref = ThreadRef(claim.channel, claim.thread, claim.subject, asker=claim.asker)
    user = action_user(body)
    if await rt.bot.is_escalated(ref.conversation):
        await _private(respond, ALREADY_HANDED_OVER)
        return
    try:
        escalation = await rt.bot.escalate(ref.conversation, requested_by=user, answer_id=ref.answer_id or None)
        # Two people pressing at once get the same escalation; only the first press posts it.
        if await rt.bot.first_delivery(f"{PLATFORM}-escalation", escalation.escalation_id):
            await _post_to_staff(rt, client, ref, escalation)
    except Exception as exc:
        log.exception("hand-over failed", conversation=str(ref.conversation), error=repr(exc))
        await _undo(rt, ref)
        await _private(respond, NO_STAFF_CHANNEL)
        return
    await _tell_thread(client, respond, body, ref, escalation.acknowledgement)


async def _post_to_staff(rt: Runtime, client: AsyncWebClient, ref: ThreadRef, escalation: Escalation) -> None:
    permalink = ""
    if _MESSAGE_TS.fullmatch(ref.thread):
        try:
            response = await client.chat_getPermalink(channel=ref.channel, message_ts=ref.thread)
            permalink = response.get("permalink", "")
        except SlackApiError as exc:  # the link is a convenience; the hand-over goes out without it
            log.warning("could not get the thread's permalink", error=repr(exc))
    signer = await rt.bot.button_signer()
    resolve = signer.seal(ButtonClaim(buttons.RESOLVE, "", "", escalation.escalation_id, ""))
    await client.chat_postMessage(
        channel=rt.slack.staff_channel, unfurl_links=False,
        text=blocks.escalation_text(escalation),
        blocks=blocks.escalation_blocks(escalation, permalink=permalink,
                                        support_mention=blocks.support_mention(rt.slack.support_group),
                                        resolve_value=resolve))


async def _undo(rt: Runtime, ref: ThreadRef) -> None:
    """Nobody on staff heard about it: reopen the thread to the bot rather than leave it silent."""
    try:
        if escalation := await rt.bot.open_escalation(ref.conversation):
            await rt.bot.resolve(escalation.escalation_id, resolved_by="supportbot (staff channel unreachable)")
    except Exception as exc:
        log.warning("could not reopen the thread after a failed hand-over", error=repr(exc))


async def _feedback(rt: Runtime, respond, body: dict[str, Any], *, helpful: bool) -> None:
    if (claim := await _checked(rt, respond, body, buttons.HELPFUL if helpful else buttons.NOT_HELPFUL)) is None:
        return
    record = await rt.bot.feedback(claim.subject, helpful, action_user(body))
    await _private(respond, ANSWER_GONE if record is None else THANKS_HELPFUL if helpful else THANKS_NOT_HELPFUL)


async def _resolve(rt: Runtime, client: AsyncWebClient, respond, body: dict[str, Any]) -> None:
    if (claim := await _checked(rt, respond, body, buttons.RESOLVE)) is None:
        return
    user = action_user(body)
    escalation = await rt.bot.resolve(claim.subject, resolved_by=user)
    if escalation is None:
        await _private(respond, "I can't find this hand-over any more.")
        return
    message = body.get("message") or {}
    channel = (body.get("channel") or {}).get("id", "")
    if message.get("ts") and channel:
        await client.chat_update(channel=channel, ts=message["ts"], text=f"Resolved by <@{escalation.resolved_by}>",
                                 blocks=blocks.resolved_blocks(message.get("blocks") or [], escalation.resolved_by))
    if escalation.resolved_by != user:
        await _private(respond, f"<@{escalation.resolved_by}> resolved this already.")
        return
    thread = escalation.conversation.thread
    if _MESSAGE_TS.fullmatch(thread):
        await client.chat_postMessage(channel=escalation.conversation.channel, thread_ts=thread, text=BACK)


async def _tell_thread(client: AsyncWebClient, respond, body: dict[str, Any], ref: ThreadRef, text: str) -> None:
    """Say it where the asker is: in the thread, or privately under a private (/ask) answer."""
    if is_ephemeral(body) or not _MESSAGE_TS.fullmatch(ref.thread):
        await _private(respond, text)
    else:
        await client.chat_postMessage(channel=ref.channel, thread_ts=ref.thread, text=text)


async def _private(respond, text: str) -> None:
    await respond_privately(respond, text)
