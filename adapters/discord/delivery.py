"""Posting an answer: streamed into one message at a bounded edit rate, then the final rendering.

A Surface is where the answer appears: a channel or thread (first message sent, then edited) or a
deferred interaction (its "thinking…" response edited, more messages as follow-ups). The same
delivery code serves both, so mentions, DMs, forum posts and /ask behave alike.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

import discord
import structlog

from adapters.discord.render import render_answer, streaming_preview
from adapters.lifecycle import finish_before_stop
from adapters.discord.views import Sealing, answer_view, apology_view
from bot.service import SupportBot
from bot.types import Answer, Inquiry

log = structlog.get_logger(__name__)
# Answers never ping anyone, whatever the model or a document wrote: mentions are an allow-list,
# and this one is empty (adapters/discord/text.py also makes them inert in the text itself).
QUIET = discord.AllowedMentions.none()


def staff_ping(support_role_id: int | None) -> discord.AllowedMentions:
    """A hand-over may ping the configured support role and nobody else: not @everyone, not the
    customer or anyone they named, not another role."""
    roles = [discord.Object(support_role_id)] if support_role_id else False
    return discord.AllowedMentions(everyone=False, users=False, roles=roles, replied_user=False)


class Surface(Protocol):
    async def show(self, content: str, view: discord.ui.View | None = None) -> None:
        """Set the first message: post it the first time, edit it after that."""

    async def add(self, content: str, view: discord.ui.View | None = None) -> None:
        """Post one more message after the first."""


class ChannelSurface:
    def __init__(self, channel: discord.abc.Messageable) -> None:
        self.channel = channel
        self.first: discord.Message | None = None

    async def show(self, content: str, view: discord.ui.View | None = None) -> None:
        # No embeds: source links are written <url> already; this covers anything else.
        if self.first is None:
            self.first = await self.channel.send(content, view=view, allowed_mentions=QUIET, suppress_embeds=True)
        else:
            await self.first.edit(content=content, view=view, allowed_mentions=QUIET, suppress=True)

    async def add(self, content: str, view: discord.ui.View | None = None) -> None:
        await self.channel.send(content, view=view, allowed_mentions=QUIET, suppress_embeds=True)


class InteractionSurface:
    """An interaction already deferred with thinking=True (ephemeral or not)."""

    def __init__(self, interaction: discord.Interaction, *, ephemeral: bool = True) -> None:
        self.interaction = interaction
        self.ephemeral = ephemeral

    async def show(self, content: str, view: discord.ui.View | None = None) -> None:
        kwargs = {"view": view} if view is not None else {}
        await self.interaction.edit_original_response(content=content, allowed_mentions=QUIET, **kwargs)

    async def add(self, content: str, view: discord.ui.View | None = None) -> None:
        kwargs = {"view": view} if view is not None else {}
        await self.interaction.followup.send(content, ephemeral=self.ephemeral, allowed_mentions=QUIET,
                                             suppress_embeds=True, **kwargs)


class LiveText:
    """Shows streamed text on a surface, editing at most once per `interval_s`.

    Deltas only append to a string; a background task shows the newest text, then waits out the
    interval, so a fast stream costs one edit per interval however many pieces arrive.
    """

    def __init__(self, surface: Surface, interval_s: float) -> None:
        self.surface = surface
        self.interval_s = interval_s
        self.text = ""
        self.shown = False
        self._changed = asyncio.Event()
        self._editing = asyncio.Lock()
        self._task: asyncio.Task | None = None

    def push(self, piece: str) -> None:
        self.text += piece
        self._changed.set()
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            await self._changed.wait()
            self._changed.clear()
            async with self._editing:
                try:
                    await self.surface.show(streaming_preview(self.text))
                    self.shown = True
                except discord.HTTPException as exc:  # the final rendering still follows
                    log.warning("could not show a streaming update", error=repr(exc))
            await asyncio.sleep(self.interval_s)

    async def stop(self) -> None:
        """Stop updating; an edit in flight finishes first, so the final text lands last."""
        if self._task is None:
            return
        async with self._editing:
            self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass


async def deliver(support: SupportBot, inquiry: Inquiry, surface: Surface, *,
                  interval_s: float) -> Answer | None:
    """Answer `inquiry` on `surface`: streamed, then rendered with buttons. Never silent: any
    failure shows the apology with a "Talk to a human" button instead."""
    live = LiveText(surface, interval_s)
    try:
        answer = await support.answer(inquiry, on_delta=live.push)
        await live.stop()
        with support.observer.posting("discord"):
            await show_answer(surface, answer, await sealing_for(support, inquiry))
        return answer
    except asyncio.CancelledError:  # the adapter is stopping: the apology, not half an answer
        await finish_before_stop(_stop_then_apologise(live, support, surface, inquiry), "post the apology")
        raise
    except Exception as exc:
        log.exception("answering failed; apologising", conversation=str(inquiry.conversation),
                      error=repr(exc))
        await live.stop()
        await show_apology(support, surface, inquiry)
        return None


async def _stop_then_apologise(live: LiveText, support: SupportBot, surface: Surface, inquiry: Inquiry) -> None:
    await live.stop()
    await show_apology(support, surface, inquiry)


async def sealing_for(support: SupportBot, inquiry: Inquiry) -> Sealing:
    """Buttons sealed by the bot for the person who asked (bot/buttons.py)."""
    return Sealing(await support.button_signer(), inquiry.user_id)


async def show_answer(surface: Surface, answer: Answer, sealing: Sealing) -> None:
    chunks = render_answer(answer)
    view = answer_view(answer, sealing)
    last = len(chunks) - 1
    await surface.show(chunks[0], view if last == 0 else None)
    for number, chunk in enumerate(chunks[1:], start=1):
        await surface.add(chunk, view if number == last else None)


async def show_apology(support: SupportBot, surface: Surface, inquiry: Inquiry) -> None:
    try:
        await surface.show(support.apology(), apology_view(inquiry.conversation, await sealing_for(support, inquiry)))
    except Exception as exc:  # Discord itself failing: nothing more we can post
        log.error("could not post the apology", conversation=str(inquiry.conversation), error=repr(exc))
