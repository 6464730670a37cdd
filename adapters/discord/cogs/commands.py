"""Slash commands: /ask (a private answer) and /reindex (admins only, reported by direct message).

/reindex is registered without a default permission, so everyone the bot's settings name as an
admin (admin_user_ids, admin_role_ids, admin_permission) can see it; our own check decides who may
run it. Server managers who want it hidden from others can restrict it under Server Settings >
Integrations. A reindex can outlast an interaction token (15 minutes), so the command is answered
at once and the progress and summary arrive as messages in the admin's DMs.
"""

from __future__ import annotations

import asyncio
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
from bot.speaking import Delivery, Verdict

if TYPE_CHECKING:
    from adapters.discord.client import SupportClient

log = structlog.get_logger(__name__)
NOT_ADMIN = ("Only support admins can run /reindex. Ask one of them, or an admin can add your role "
             "to `discord.admin_role_ids` in the bot's settings.")
STARTED = ("🔄 Reindex started{full}. I'll send progress and a summary to your direct messages; the "
           "current knowledge keeps serving until it finishes.")
BUSY_WAIT_S = 1.0  # how long the reply waits to learn whether another reindex holds the lock


class Commands(commands.Cog):
    def __init__(self, client: SupportClient) -> None:
        self.client = client
        self.support = client.support
        self.settings = client.discord_settings

    @app_commands.command(name="ask", description="Ask the support bot; only you see the answer")
    @app_commands.describe(question="Your question about our policies")
    async def ask(self, interaction: discord.Interaction, question: str) -> None:
        async with self.client.inflight.working():
            bind_delivery("discord", event_id=str(interaction.id), tenant=str(interaction.guild_id or ""))
            conversation = ask_conversation(interaction.guild_id, interaction.channel_id or 0, interaction.user.id)
            inquiry = command_inquiry(interaction, question, conversation, self.settings)
            # Decided before responding (Redis answers in milliseconds; the claim has a budget well
            # inside Discord's 3 seconds), so a refusal is the only reply and a replayed
            # interaction gets none.
            decision = await self.support.may_speak(inquiry, Delivery("discord-ask", str(interaction.id)))
            if decision.verdict is Verdict.DUPLICATE:
                return
            if decision.verdict is Verdict.HANDED_OVER:
                escalation = await self.support.open_escalation(conversation)
                text = escalation.acknowledgement if escalation else decision.notice
                return await interaction.response.send_message(text, ephemeral=True, allowed_mentions=QUIET)
            if not decision.speak:
                return await interaction.response.send_message(decision.notice, ephemeral=True,
                                                               allowed_mentions=QUIET)
            # Deferred first: Discord wants a response within 3 seconds, answers can take longer.
            await interaction.response.defer(ephemeral=True, thinking=True)
            await deliver(self.support, decision.inquiry, InteractionSurface(interaction),
                          interval_s=self.settings.edit_interval_s)

    @app_commands.command(name="reindex", description="Refresh the bot's knowledge from the policy documents")
    @app_commands.describe(full="Re-embed every document, not only the changed ones")
    async def reindex(self, interaction: discord.Interaction, full: bool = False) -> None:
        author = author_from(interaction.user, interaction.permissions)
        if not is_admin(author, self.settings):
            log.warning("refused /reindex", user=author.id)
            return await interaction.response.send_message(NOT_ADMIN, ephemeral=True)
        report = AdminReport(interaction.user, self.settings.edit_interval_s)
        tenant = str(interaction.guild_id) if interaction.guild_id else None
        job = self.client.inflight.spawn(self._run(report, author.name or str(author.id), full, tenant),
                                         name="discord-reindex")
        # A refusal usually comes within milliseconds (a Redis SET NX): say it in the reply itself.
        done, _ = await asyncio.wait({job}, timeout=BUSY_WAIT_S)
        refusal = job.result() if job in done else None
        report.acknowledged = True
        await interaction.response.send_message(refusal or STARTED.format(full=" (full rebuild)" if full else ""),
                                                ephemeral=True, allowed_mentions=QUIET)

    async def _run(self, report: AdminReport, requested_by: str, full: bool, tenant: str | None) -> str | None:
        """The reindex; returns a refusal only if it came before the reply (then the reply says it)."""
        try:
            summary = await self.support.run_reindex(requested_by=requested_by, full=full,
                                                     on_progress=report.progress, tenant=tenant)
            text = summary_text(summary)
        except ReindexBusy as exc:
            text = f"⏸️ {exc}"
            if not report.acknowledged:
                return text
        except ReindexError as exc:
            text = f"❌ The reindex failed and the previous knowledge keeps serving: {exc}"
        except Exception as exc:
            log.exception("reindex failed", error=repr(exc))
            text = f"❌ The reindex failed and the previous knowledge keeps serving. {self.support.apology()}"
        await report.finish(text)
        return None


class AdminReport:
    """Progress and summary of a reindex in the admin's DMs: one progress message, edited at most
    once per interval (and at the end of each stage), then the summary as a new message."""

    def __init__(self, admin: discord.abc.User, interval_s: float) -> None:
        self.admin = admin
        self.interval_s = interval_s
        self.acknowledged = False
        self.message: discord.Message | None = None
        self.last = 0.0
        self.failed = False

    async def progress(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if self.failed or (now - self.last < self.interval_s and done < total):
            return
        self.last = now
        text = progress_text(stage, done, total)
        try:
            if self.message is None:
                self.message = await self.admin.send(text, allowed_mentions=QUIET)
            else:
                await self.message.edit(content=text, allowed_mentions=QUIET)
        except discord.HTTPException as exc:  # DMs closed: the summary is still logged
            self.failed = True
            log.warning("could not show reindex progress by DM", admin=self.admin.id, error=repr(exc))

    async def finish(self, text: str) -> None:
        try:
            await self.admin.send(text, allowed_mentions=QUIET)
        except discord.HTTPException as exc:
            log.error("could not send the reindex summary by DM; here it is", admin=self.admin.id, summary=text,
                      error=repr(exc))
