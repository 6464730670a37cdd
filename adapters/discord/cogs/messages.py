"""Messages: mentions, DMs, auto-answer channels, forum posts and follow-ups in the bot's threads."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import discord
import structlog
from discord.ext import commands

from adapters.discord.convert import (
    Route,
    conversation_at,
    conversation_for,
    facts_from_message,
    inquiry_for,
    question_text,
    route_for,
    thread_name,
)
from adapters.discord.delivery import QUIET, ChannelSurface, deliver
from bot.logs import bind_delivery
from bot.speaking import Delivery

if TYPE_CHECKING:
    from adapters.discord.client import SupportClient

log = structlog.get_logger(__name__)
THREAD_ARCHIVE_MINUTES = 1440


class Messages(commands.Cog):
    def __init__(self, client: SupportClient) -> None:
        self.client = client
        self.support = client.support
        self.settings = client.discord_settings

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or self.client.user is None:
            return  # never answer bots, ourselves included
        async with self.client.inflight.working():
            bind_delivery("discord", event_id=str(message.id), tenant=str(message.guild.id) if message.guild else None)
            try:
                await self._handle(message)
            except Exception as exc:  # deliver() already apologises; this is Discord failing before it
                log.exception("could not handle a message", message=message.id, error=repr(exc))

    async def _handle(self, message: discord.Message) -> None:
        bot_id = self.client.user.id
        channel = await self._channel_of(message)
        facts = facts_from_message(message, bot_id, channel)
        place = facts.place
        followed = (place.is_thread and not facts.mentions_bot
                    and await self.support.follows_thread(conversation_at(place.guild_id, place.channel_id)))
        route = route_for(facts, self.settings, followed=followed)
        if route is None:
            return
        conversation = conversation_for(place, route, facts.message_id)
        inquiry = inquiry_for(facts, conversation, self.settings, bot_id)
        # Before any thread, typing indicator or reply: a replayed gateway event (or one another
        # worker has), a thread a person has taken over, or a user over the rate limit.
        decision = await self.support.may_speak(inquiry, Delivery("discord", str(message.id)), addressed=False)
        if not decision.speak:
            if decision.tell:  # over the limit: said once, where they asked, without a new thread
                await message.reply(decision.notice, mention_author=False, allowed_mentions=QUIET)
            return
        target = await self._open_thread(message, facts.content) if route is Route.OPEN_THREAD else channel
        async with _typing(target):
            await deliver(self.support, decision.inquiry, ChannelSurface(target),
                          interval_s=self.settings.edit_interval_s)
        if not place.is_dm:
            await self.support.follow_thread(conversation)

    async def _channel_of(self, message: discord.Message) -> discord.abc.Messageable:
        """The message's channel; fetched when the cache does not know it (to tell a thread)."""
        channel = message.channel
        if isinstance(channel, discord.PartialMessageable) and channel.guild_id is not None:
            with contextlib.suppress(discord.HTTPException):
                return await self.client.fetch_channel(channel.id)  # type: ignore[return-value]
        return channel

    async def _open_thread(self, message: discord.Message, content: str) -> discord.abc.Messageable:
        name = thread_name(question_text(content, self.client.user.id))
        try:
            return await message.create_thread(name=name, auto_archive_duration=THREAD_ARCHIVE_MINUTES)
        except (discord.HTTPException, ValueError) as exc:  # no thread permission: answer in place
            log.warning("could not open a thread; replying in the channel", channel=message.channel.id,
                        error=repr(exc))
            return message.channel


@contextlib.asynccontextmanager
async def _typing(channel: discord.abc.Messageable) -> AsyncIterator[None]:
    """The typing indicator, renewed by discord.py until the answer is posted; best effort."""
    try:
        indicator = channel.typing()
        await indicator.__aenter__()
    except discord.HTTPException as exc:
        log.info("no typing indicator", error=repr(exc))
        yield
        return
    try:
        yield
    finally:
        await indicator.__aexit__(None, None, None)
