"""Questions: mentions, auto-answer channels, follow-ups in threads the bot answered, and DMs
(handed to listeners/dms.py, which knows Slack's two messaging experiences).

Where to answer is decided here; how is delivery's; what is the service's. Whether the bot has
answered in a thread is recorded by the service (Redis), not in this process, so any worker can
take the follow-up.
"""

from __future__ import annotations

from typing import Any

import structlog
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.convert import (
    Message,
    inquiry_from_message,
    is_from_a_person,
    mentions,
    message_from_event,
)
from adapters.slack.delivery import answer_with_placeholder
from adapters.slack.listeners.authority import for_connect, is_foreign, thread_ref
from adapters.slack.listeners.dms import answer_dm, tell_privately
from adapters.slack.refs import ThreadRef
from adapters.slack.runtime import Runtime
from bot.state.leases import EventLease

log = structlog.get_logger(__name__)


def register(app: AsyncApp, rt: Runtime) -> None:
    @app.event("app_mention")
    async def on_mention(event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext,
                      client: AsyncWebClient) -> None:
        async with rt.working(context) as lease:
            await _answer(rt, client, message_from_event(event, body.get("team_id", "")),
                          context.bot_user_id or "", mentioned=True,
                          foreign=is_foreign(event, body.get("team_id", "")), lease=lease)

    @app.event("message")
    async def on_message(event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext,
                      client: AsyncWebClient) -> None:
        async with rt.working(context) as lease:
            if not is_from_a_person(event):
                return
            message = message_from_event(event, body.get("team_id", ""))
            bot_user_id = context.bot_user_id or ""
            if not message.is_dm and mentions(message.text, bot_user_id):
                return  # the app_mention event for the same message answers it
            if not await _addressed_without_mention(rt, message):
                return
            foreign = is_foreign(event, body.get("team_id", ""))
            if message.is_dm and rt.slack.experience == "agent":
                await answer_dm(rt, client, message, bot_user_id, body.get("event_id", ""),
                                team=context.team_id or message.team, foreign=foreign, lease=lease)
                return
            await _answer(rt, client, message, bot_user_id, mentioned=message.is_dm, foreign=foreign, lease=lease)


async def _addressed_without_mention(rt: Runtime, message: Message) -> bool:
    if message.is_dm or message.channel in rt.slack.auto_answer_channels:
        return True
    if not message.in_thread:
        return False
    return await rt.bot.follows_thread(ThreadRef(message.channel, message.thread).conversation)


async def _answer(rt: Runtime, client: AsyncWebClient, message: Message, bot_user_id: str,
                  *, mentioned: bool, foreign: bool, lease: EventLease | None = None) -> None:
    # The event was claimed once already (app.py's middleware), so no delivery is passed here.
    inquiry = for_connect(inquiry_from_message(message, rt.slack, bot_user_id=bot_user_id), foreign)
    decision = await rt.bot.may_speak(inquiry, addressed=mentioned)
    if not decision.speak:
        await tell_privately(client, message, decision.notice if decision.tell else "")
        return
    thread = await thread_ref(rt, message.channel, message.thread, message.user)
    await answer_with_placeholder(rt.bot, client, decision.inquiry, thread, lease=lease)
    if not message.is_dm:
        await rt.bot.follow_thread(thread.conversation)
