"""Slash commands: /ask (a private answer) and /reindex (admins only, progress as it runs)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import discord
import structlog
from discord import app_commands
from discord.ext import commands

from adapters.discord.convert import ask_conversation, author_from, command_inquiry, is_admin
from adapters.discord.delivery import QUIET, InteractionSurface, deliver
from adapters.discord.render import progress_text, summary_text
from bot.logs import bind_delivery
from bot.knowledge.indexer import ReindexError
from bot.knowledge.reindex_job import ReindexBusy

if TYPE_CHECKING:
    from adapters.discord.client import SupportClient

log = structlog.get_logger(__name__)
NOT_ADMIN = ("Only support admins can run /reindex. Ask one of them, or an admin can add your role "
             "to `discord.admin_role_ids` in the bot's settings.")


class Commands(commands.Cog):
    def __init__(self, client: SupportClient) -> None:
        self.client = client
        self.support = client.support
        self.settings = client.discord_settings

    @app_commands.command(name="ask", description="Ask the support bot; only you see the answer")
    @app_commands.describe(question="Your question about our policies")
    async def ask(self, interaction: discord.Interaction, question: str) -> None:
        bind_delivery("discord", event_id=str(interaction.id), tenant=str(interaction.guild_id or ""))
        # Deferred first: Discord wants a response within 3 seconds, answers can take longer.
        await interaction.response.defer(ephemeral=True, thinking=True)
        conversation = ask_conversation(interaction.guild_id, interaction.channel_id or 0, interaction.user.id)
        surface = InteractionSurface(interaction)
        if escalation := await self.support.open_escalation(conversation):
            return await surface.show(escalation.acknowledgement)
        inquiry = command_inquiry(interaction, question, conversation, self.settings)
        await deliver(self.support, inquiry, surface, interval_s=self.settings.edit_interval_s)

    @app_commands.command(name="reindex", description="Refresh the bot's knowledge from the policy documents")
    @app_commands.describe(full="Re-embed every document, not only the changed ones")
    @app_commands.default_permissions(manage_guild=True)  # hides it; our own check below decides
    async def reindex(self, interaction: discord.Interaction, full: bool = False) -> None:
        author = author_from(interaction.user, interaction.permissions)
        if not is_admin(author, self.settings):
            log.warning("refused /reindex", user=author.id)
            return await interaction.response.send_message(NOT_ADMIN, ephemeral=True)
        await interaction.response.defer(ephemeral=True, thinking=True)
        progress = _Progress(interaction, self.settings.edit_interval_s)
        try:
            summary = await self.support.run_reindex(
                requested_by=author.name or str(author.id), full=full, on_progress=progress,
                tenant=str(interaction.guild_id) if interaction.guild_id else None)
        except ReindexBusy as exc:
            text = f"⏸️ {exc}"
        except ReindexError as exc:
            text = f"❌ The reindex failed and the previous knowledge keeps serving: {exc}"
        except Exception as exc:
            log.exception("reindex failed", error=repr(exc))
            text = f"❌ The reindex failed and the previous knowledge keeps serving. {self.support.apology()}"
        else:
            text = summary_text(summary)
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=QUIET)


class _Progress:
    """Shows reindex progress in the deferred response, at most one edit per interval (and the
    last event of each stage, so every stage is seen to finish)."""

    def __init__(self, interaction: discord.Interaction, interval_s: float) -> None:
        self.interaction = interaction
        self.interval_s = interval_s
        self.last = 0.0

    async def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.last < self.interval_s and done < total:
            return
        self.last = now
        await self.interaction.edit_original_response(content=progress_text(stage, done, total))

