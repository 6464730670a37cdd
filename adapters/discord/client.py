"""The discord.py client: intents, cogs, persistent buttons and slash-command registration."""

from __future__ import annotations

import discord
import structlog
from discord.ext import commands

from adapters.discord.cogs.commands import Commands
from adapters.inflight import InFlight
from adapters.discord.cogs.handover import Handover
from adapters.discord.cogs.messages import Messages
from adapters.discord.views import DYNAMIC_ITEMS
from bot.service import SupportBot
from bot.settings import DiscordSettings

log = structlog.get_logger(__name__)


def intents() -> discord.Intents:
    """Messages in servers and DMs, with their text: the message content intent is privileged and
    must also be switched on in the Developer Portal. No members or presences."""
    wanted = discord.Intents.none()
    wanted.guilds = True
    wanted.guild_messages = True
    wanted.dm_messages = True
    wanted.message_content = True
    return wanted


class SupportClient(commands.Bot):
    def __init__(self, support: SupportBot, settings: DiscordSettings, **options) -> None:
        super().__init__(command_prefix=commands.when_mentioned, intents=intents(), help_command=None,
                         allowed_mentions=discord.AllowedMentions.none(), **options)
        self.support = support
        self.discord_settings = settings
        self.inflight = InFlight()  # answers and reindexes running: a stop waits for them

    async def setup_hook(self) -> None:
        # Buttons are matched by custom_id template, so old messages' buttons work after a restart.
        self.add_dynamic_items(*DYNAMIC_ITEMS)
        for cog in (Messages(self), Handover(self), Commands(self)):
            await self.add_cog(cog)
        if self.discord_settings.sync_commands:
            await self.sync_commands()

    async def sync_commands(self) -> None:
        """Servers listed in command_guild_ids get the commands at once; global ones take a while."""
        guild_ids = self.discord_settings.command_guild_ids
        for guild_id in guild_ids:
            guild = discord.Object(guild_id)
            self.tree.copy_global_to(guild=guild)
            await self.tree.sync(guild=guild)
        if not guild_ids:
            await self.tree.sync()
        log.info("slash commands registered", guilds=guild_ids or "global")

    async def on_message(self, message: discord.Message) -> None:
        """No prefix commands: the Messages cog answers; this stops commands.Bot parsing mentions."""

    async def on_ready(self) -> None:
        log.warning("connected to Discord", user=str(self.user), guilds=len(self.guilds))
