"""Direct messages with the app, in either of Slack's two messaging experiences.

- **Agent** (`features.agent_view`; every new app since mid-2026): the app's Messages tab is a
  timeline of threads. Opening it sends `app_home_opened` with `tab == "messages"`, when the bot
  offers its suggested prompts (without a thread_ts: with agent_view Slack ignores a call that
  names one). Each message is answered in a thread under it: a "thinking" status at once, then
  the answer streamed. `app_context_changed` says what the person is looking at elsewhere in
  Slack; the bot does not use it (a DM is answered from public documents whatever is on screen).
- **Assistant** (`features.assistant_view`; existing apps, to be deprecated by Slack): bolt's
  Assistant middleware handles `assistant_thread_started` (a greeting and the prompts) and the
  questions asked in assistant threads. Chosen with `slack.experience = "assistant"`.

Either way the answer goes through delivery.answer_in_dm: status, then stream.
"""

from __future__ import annotations

from typing import Any

import structlog
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.middleware.assistant.async_assistant import AsyncAssistant
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.convert import Message, inquiry_from_message, message_from_event
from adapters.slack.delivery import answer_in_dm
from adapters.slack.listeners.authority import for_connect, is_foreign, thread_ref
from adapters.slack.runtime import Runtime
from bot.state.leases import EventLease

log = structlog.get_logger(__name__)

GREETING = "Hi! Ask me anything about our policies: returns, shipping, warranties and more."
PROMPTS_TITLE = "Try asking"


def register(app: AsyncApp, rt: Runtime) -> None:
    if rt.slack.experience == "assistant":
        app.assistant(_assistant(rt))
        return

    @app.event("app_home_opened")
    async def offer_prompts(event: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient) -> None:
        async with rt.working(context):
            if event.get("tab") != "messages" or not rt.slack.suggested_prompts:
                return
            try:
                await client.assistant_threads_setSuggestedPrompts(
                    channel_id=event["channel"], title=PROMPTS_TITLE, prompts=prompt_list(rt.slack.suggested_prompts))
            except Exception as exc:  # prompts are a nicety: the DM works without them
                log.warning("could not offer suggested prompts", error=repr(exc))

    @app.event("app_context_changed")
    async def context_changed(event: dict[str, Any], context: AsyncBoltContext) -> None:
        # Acknowledged (bolt answers Slack) and deliberately unused: see the module docstring.
        async with rt.working(context):
            entities = (event.get("context") or {}).get("entities") or []
            log.debug("Slack context changed", entity_types=[e.get("type") for e in entities])


def _assistant(rt: Runtime) -> AsyncAssistant:
    assistant = AsyncAssistant()

    @assistant.thread_started
    async def greet(say, set_suggested_prompts, context: AsyncBoltContext) -> None:
        async with rt.working(context):
            await say(GREETING)
            if rt.slack.suggested_prompts:
                await set_suggested_prompts(prompts=prompt_list(rt.slack.suggested_prompts), title=PROMPTS_TITLE)

    @assistant.user_message
    async def question(payload: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext,
                       client: AsyncWebClient) -> None:
        async with rt.working(context) as lease:
            message = message_from_event(payload, body.get("team_id", ""))
            await answer_dm(rt, client, message, context.bot_user_id or "", body.get("event_id", ""),
                            team=context.team_id or message.team, foreign=is_foreign(payload, body.get("team_id", "")),
                            lease=lease)

    return assistant


async def answer_dm(rt: Runtime, client: AsyncWebClient, message: Message, bot_user_id: str, event_id: str,
                    *, team: str, foreign: bool = False, lease: EventLease | None = None) -> None:
    inquiry = inquiry_from_message(message, rt.slack, bot_user_id=bot_user_id, event_id=event_id)
    decision = await rt.bot.may_speak(for_connect(inquiry, foreign))  # claimed by app.py's middleware
    if not decision.speak:
        await tell_privately(client, message, decision.notice if decision.tell else "")
        return
    ref = await thread_ref(rt, message.channel, message.thread, message.user)
    await answer_in_dm(rt.bot, client, decision.inquiry, ref, team=team, user=message.user, lease=lease)


async def tell_privately(client: AsyncWebClient, message: Message, notice: str) -> None:
    """Why the bot is not answering, to the asker alone (one call); nothing if there is no notice."""
    if notice:
        await client.chat_postEphemeral(channel=message.channel, user=message.user, thread_ts=message.thread,
                                        text=notice)


def prompt_list(prompts: list[str]) -> list[dict[str, str]]:
    """Slack's prompt objects: the title is what the button shows, the message what it sends."""
    return [{"title": prompt[:75], "message": prompt} for prompt in prompts]
