"""Getting an answer into a thread: a placeholder then an update, or a stream in assistant threads.

Never silent: whatever fails between the question and the answer (the service, rendering, a Slack
call) ends as the apology with a "Talk to a human" button, posted by whichever way still works.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_chat_stream import AsyncChatStream
from slack_sdk.web.async_client import AsyncWebClient

from adapters.lifecycle import finish_before_stop
from adapters.slack import blocks
from adapters.slack.mrkdwn import escape
from adapters.slack.refs import ThreadRef
from adapters.slack.stream_text import StreamText
from bot.service import SupportBot
from bot.state.leases import EventLease
from bot.types import Inquiry

log = structlog.get_logger(__name__)
# chat.appendStream takes at most 12,000 characters of markdown_text a call; slack_sdk's stream
# holds back up to STREAM_BUFFER of them before sending, so each piece we hand it stays below both.
STREAM_BUFFER = 256
STREAM_PIECE = 12_000 - STREAM_BUFFER
THINKING = "is looking through our policies…"


async def respond_privately(respond, text: str, reply_blocks: list[dict[str, Any]] | None = None) -> None:
    """A message only the person sees, through the request's response_url. Slack answers a refused
    one with an HTTP error rather than an exception, so it is checked here and logged."""
    kwargs: dict[str, Any] = {"blocks": reply_blocks} if reply_blocks is not None else {}
    response = await respond(text=text, response_type="ephemeral", replace_original=False, **kwargs)
    status = getattr(response, "status_code", 200)
    if status != 200:
        log.error("Slack refused a private reply", status=status, body=getattr(response, "body", ""))


async def taken_over(lease: EventLease | None) -> bool:
    """True when another worker took the event over (this one stalled past its lease, and a
    retry reached the other): its reply is coming from there, so this one must not post."""
    return lease is not None and not await lease.still_ours()


async def posted(lease: EventLease | None) -> None:
    """The reply is in Slack: write the done marker now, before anything else can stall. A worker
    killed between Slack accepting the reply and this marker leaves the event to Slack's retry,
    and the asker sees the answer twice: the one window of a double reply left (README)."""
    if lease is not None:
        await lease.finish()


async def answer_with_placeholder(bot: SupportBot, client: AsyncWebClient, inquiry: Inquiry,
                                  ref: ThreadRef, *, lease: EventLease | None = None) -> None:
    """Post "looking…" at once (well within a second), then replace it with the answer."""
    placeholder = await client.chat_postMessage(channel=ref.channel, thread_ts=ref.thread,
                                                text=blocks.PLACEHOLDER)
    message = _Reply(client, ref, placeholder.get("ts"))
    try:
        answer = await bot.answer(inquiry)
        if await taken_over(lease):  # "looking…" stays: the other worker's reply follows it
            return
        with bot.observer.posting("slack"):
            await message.show(blocks.answer_blocks(answer, ref), blocks.notification_text(answer.text))
        await posted(lease)
    except asyncio.CancelledError:  # the adapter is stopping: no "looking…" left behind
        await finish_before_stop(message.show(blocks.apology_blocks(bot.apology(), ref), escape(bot.apology())),
                                 "replace the placeholder")
        raise
    except Exception as exc:
        log.exception("could not answer in Slack", conversation=str(ref.conversation), error=repr(exc))
        await message.show(blocks.apology_blocks(bot.apology(), ref), escape(bot.apology()))


async def answer_in_dm(bot: SupportBot, client: AsyncWebClient, inquiry: Inquiry, ref: ThreadRef, *,
                       team: str, user: str, lease: EventLease | None = None) -> None:
    """A DM (either messaging experience): a "thinking" status in its thread at once, then the
    answer streamed there. Slack clears the status when the reply arrives."""
    try:
        await client.assistant_threads_setStatus(channel_id=ref.channel, thread_ts=ref.thread, status=THINKING)
    except Exception as exc:  # a status is a nicety; the answer still goes out
        log.warning("could not set the thinking status", error=repr(exc))
    await answer_with_stream(bot, client, inquiry, ref, team=team, user=user, lease=lease)


async def answer_with_stream(bot: SupportBot, client: AsyncWebClient, inquiry: Inquiry, ref: ThreadRef,
                             *, team: str, user: str, lease: EventLease | None = None) -> None:
    """Assistant threads: stream generated text as it arrives, then add sources and buttons.

    Answers that are not generated (cached, extractive, declined) arrive whole and are posted
    whole. If what streamed is not the final answer (the model failed mid-way and the service
    fell back to quoting the policy, or citations were dropped), the streamed message is replaced
    by the final one.
    """
    stream = _Stream(await client.chat_stream(channel=ref.channel, thread_ts=ref.thread, buffer_size=STREAM_BUFFER,
                                              recipient_team_id=team or None, recipient_user_id=user))
    try:
        answer = await bot.answer(inquiry, on_delta=stream.append)
    except asyncio.CancelledError:  # the adapter is stopping: close the stream with the apology
        await finish_before_stop(_apologise_after(stream, bot, client, ref), "close the stream")
        raise
    except Exception as exc:
        log.exception("could not answer in Slack", conversation=str(ref.conversation), error=repr(exc))
        await _apologise_after(stream, bot, client, ref)
        return
    if await taken_over(lease):  # text streamed so far stays unfinished: the other worker's reply follows
        return
    with bot.observer.posting("slack"):
        await _post_whole_or_finish_stream(stream, _Reply(client, ref, None), answer, ref)
    await posted(lease)


async def _post_whole_or_finish_stream(stream: _Stream, reply: _Reply, answer, ref: ThreadRef) -> None:
    if stream.live:
        if stream.text.strip() == answer.text.strip():
            if await stream.finish(blocks.footer_blocks(answer, ref)):
                return
        elif await stream.finish(None):
            reply.ts = stream.ts
    await reply.show(blocks.answer_blocks(answer, ref), blocks.notification_text(answer.text))


class _Stream:
    """chat.startStream / appendStream / stopStream, giving up quietly if Slack refuses it."""

    def __init__(self, stream: AsyncChatStream) -> None:
        self.stream = stream
        self.text = ""  # the model's text as it arrived (compared with the final answer)
        self.safe = StreamText()  # what Slack gets: escaped, no links (stream_text.py)
        self.broken = False

    @property
    def live(self) -> bool:
        """Text went into the stream (perhaps still buffered) and Slack has not refused it."""
        return bool(self.text) and not self.broken

    @property
    def ts(self) -> str | None:
        return self.stream.ts

    async def append(self, piece: str) -> None:
        # A failed append must not look like a model failure to the service: stop streaming and
        # let the finished answer be posted whole instead.
        if self.broken:
            return
        self.text += piece
        ready = self.safe.push(piece)
        try:
            for start in range(0, len(ready), STREAM_PIECE):
                await self.stream.append(markdown_text=ready[start:start + STREAM_PIECE])
        except Exception as exc:
            log.warning("streaming to Slack failed; posting the answer whole", error=repr(exc))
            self.broken = True

    async def finish(self, footer: list[dict[str, Any]] | None, markdown_text: str | None = None) -> bool:
        """Stop the stream: the held-back text, then `markdown_text` (ours, escaped here), then the footer."""
        rest = self.safe.flush() + escape(markdown_text or "")
        try:
            pieces = [rest[start:start + STREAM_PIECE] for start in range(0, len(rest), STREAM_PIECE)] or [""]
            for piece in pieces[:-1]:
                await self.stream.append(markdown_text=piece)
            await self.stream.stop(blocks=footer, markdown_text=pieces[-1] or None)
            return True
        except Exception as exc:
            log.warning("could not finish the Slack stream", error=repr(exc))
            self.broken = True
            return False


async def _apologise_after(stream: _Stream, bot: SupportBot, client: AsyncWebClient, ref: ThreadRef) -> None:
    apology = bot.apology()
    apology_blocks = blocks.apology_blocks(apology, ref)
    if stream.live and await stream.finish(apology_blocks[-1:], markdown_text="\n\n" + apology):
        return
    await _Reply(client, ref, None).show(apology_blocks, escape(apology))


class _Reply:
    """One bot message in the thread: updated in place if it exists, else posted."""

    def __init__(self, client: AsyncWebClient, ref: ThreadRef, ts: str | None) -> None:
        self.client, self.ref, self.ts = client, ref, ts

    async def show(self, reply_blocks: list[dict[str, Any]], text: str) -> None:
        if self.ts:
            try:
                await self.client.chat_update(channel=self.ref.channel, ts=self.ts, text=text, blocks=reply_blocks)
                return
            except SlackApiError as exc:  # e.g. the placeholder was deleted: post instead
                log.warning("could not update the placeholder; posting a new reply", error=repr(exc))
        response = await self.client.chat_postMessage(channel=self.ref.channel, thread_ts=self.ref.thread,
                                                      text=text, blocks=reply_blocks)
        self.ts = response.get("ts")
