"""Questions: mentions, DMs, auto-answer channels, follow-ups, and Slack's assistant threads.

Where to answer is decided here; how is delivery's; what is the service's. Whether the bot has
answered in a thread is recorded by the service (Redis), not in this process, so any worker can
take the follow-up.
"""

from __future__ import annotations

from typing import Any

import structlog
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.middleware.assistant.async_assistant import AsyncAssistant
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.convert import (
    Message,
    inquiry_from_message,
    is_from_a_person,
    mentions,
    message_from_event,
)
from adapters.slack.delivery import answer_with_placeholder, answer_with_stream
from adapters.slack.refs import ThreadRef
from adapters.slack.runtime import Runtime

log = structlog.get_logger(__name__)

HANDED_OVER = ("A person from our support team is handling this conversation, so I'm staying out "
               "of it. I'll be back here once they mark it resolved.")
GREETING = "Hi! Ask me anything about our policies: returns, shipping, warranties and more."
THINKING = "is looking through our policies…"


def register(app: AsyncApp, rt: Runtime) -> None:
    assistant = AsyncAssistant()

    @assistant.thread_started
    async def greet(say, set_suggested_prompts) -> None:
        async with rt.working():
            await say(GREETING)
            if rt.slack.suggested_prompts:
                await set_suggested_prompts(prompts=rt.slack.suggested_prompts, title="Try asking")

    @assistant.user_message
    async def assistant_question(payload: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext,
                                 client: AsyncWebClient, set_status) -> None:
        async with rt.working():
            message = message_from_event(payload, body.get("team_id", ""))
            if await _handed_over(rt, client, message, notify=True):
                return
            try:
                await set_status(THINKING)
            except Exception as exc:  # a status is a nicety; the answer still goes out
                log.warning("could not set the assistant status", error=repr(exc))
            inquiry = inquiry_from_message(message, rt.slack, bot_user_id=context.bot_user_id or "",
                                           event_id=body.get("event_id", ""))
            await answer_with_stream(rt.bot, client, inquiry, ThreadRef(message.channel, message.thread),
                                     team=context.team_id or message.team, user=message.user)

    app.assistant(assistant)

    @app.event("app_mention")
    async def on_mention(event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext,
                      client: AsyncWebClient) -> None:
        async with rt.working():
            await _answer(rt, client, message_from_event(event, body.get("team_id", "")),
                          context.bot_user_id or "", body.get("event_id", ""), mentioned=True)

    @app.event("message")
    async def on_message(event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext,
                      client: AsyncWebClient) -> None:
        async with rt.working():
            if not is_from_a_person(event):
                return
            message = message_from_event(event, body.get("team_id", ""))
            bot_user_id = context.bot_user_id or ""
            if not message.is_dm and mentions(message.text, bot_user_id):
                return  # the app_mention event for the same message answers it
            if await _addressed_without_mention(rt, message):
                await _answer(rt, client, message, bot_user_id, body.get("event_id", ""),
                              mentioned=message.is_dm)


async def _addressed_without_mention(rt: Runtime, message: Message) -> bool:
    if message.is_dm or message.channel in rt.slack.auto_answer_channels:
        return True
    if not message.in_thread:
        return False
    return await rt.bot.follows_thread(ThreadRef(message.channel, message.thread).conversation)


async def _answer(rt: Runtime, client: AsyncWebClient, message: Message, bot_user_id: str, event_id: str,
                  *, mentioned: bool) -> None:
    if await _handed_over(rt, client, message, notify=mentioned):
        return
    inquiry = inquiry_from_message(message, rt.slack, bot_user_id=bot_user_id, event_id=event_id)
    thread = ThreadRef(message.channel, message.thread)
    await answer_with_placeholder(rt.bot, client, inquiry, thread)
    if not message.is_dm:
        await rt.bot.follow_thread(thread.conversation)


async def _handed_over(rt: Runtime, client: AsyncWebClient, message: Message, *, notify: bool) -> bool:
    """Quiet in an escalated thread; someone who addressed the bot directly is told why, privately."""
    if not await rt.bot.is_escalated(ThreadRef(message.channel, message.thread).conversation):
        return False
    if notify:
        await client.chat_postEphemeral(channel=message.channel, user=message.user,
                                        thread_ts=message.thread, text=HANDED_OVER)
    return True
