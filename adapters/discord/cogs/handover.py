"""Button presses: "Talk to a human", "Helpful" / "Not helpful" and the staff's "Mark resolved".

Every press is checked first: the custom_id must be one the bot sealed (views.py, bot/buttons.py)
and the person pressing must be allowed to (Mark resolved: staff, meaning the staff, support or
admin roles and the admins; the others: the person who asked, or staff). A refusal is private.

The service keeps the state (escalation records, feedback, the answer a button refers to), so a
press works on any worker and after a restart; this cog only replies and posts to the staff.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
import structlog
from discord.ext import commands

from adapters.discord.convert import DM, author_from, conversation_channel_id, is_admin, is_private
from adapters.discord.delivery import QUIET, staff_ping
from adapters.discord.render import (
    already_escalated_notice,
    escalation_report,
    resolved_notice,
    resolved_report,
)
from adapters.discord.views import conversation_of, resolve_view
from bot import buttons
from bot.buttons import BadButton, ButtonClaim, Presser, press_refusal
from bot.settings import DiscordSettings
from bot.types import Escalation

if TYPE_CHECKING:
    from adapters.discord.client import SupportClient

log = structlog.get_logger(__name__)
GONE = ("I can't find that answer any more (answers are kept for a limited time). "
        "Ask your question again, and the new answer's buttons will work.")
TRY_AGAIN = "Sorry, I couldn't record that just now. Please press the button again in a minute."


class Handover(commands.Cog):
    def __init__(self, client: SupportClient) -> None:
        self.client = client
        self.support = client.support
        self.settings = client.discord_settings

    async def pressed(self, interaction: discord.Interaction, value: str) -> None:
        """Any of the bot's buttons: verify, check who pressed, then act."""
        try:
            claim = (await self.support.button_signer()).open(value)
        except BadButton as exc:
            log.warning("refused a button press", reason=str(exc), user=interaction.user.id)
            return await _tell(interaction, exc.reply)
        if refusal := press_refusal(claim, presser_of(interaction, self.settings)):
            log.info("refused a button press by someone not allowed", action=claim.action, user=interaction.user.id)
            return await _tell(interaction, refusal)
        if claim.action == buttons.HUMAN:
            await self.talk_to_human(interaction, claim)
        elif claim.action == buttons.RESOLVE:
            await self.resolve(interaction, claim.subject)
        else:
            await self.rate(interaction, claim.subject, helpful=claim.action == buttons.HELPFUL)

    async def talk_to_human(self, interaction: discord.Interaction, claim: ButtonClaim) -> None:
        user = str(interaction.user.id)
        answer_id = claim.subject or None
        try:
            if answer_id is not None:  # on an answer: the bot's own record says which conversation
                found = await self.support.records.find_answer(answer_id)
                if found is None:
                    return await _tell(interaction, GONE)
                conversation = found[0]
            else:  # on an apology: the sealed conversation, which must be in this server (or DMs)
                conversation = conversation_of(claim)
                if conversation.channel.split("/", 1)[0] != str(interaction.guild_id or DM):
                    return await _tell(interaction, buttons.FORGED)
            if await self.support.open_escalation(conversation):
                return await _tell(interaction, already_escalated_notice())
            escalation = await self.support.escalate(conversation, requested_by=user, answer_id=answer_id)
        except Exception as exc:  # Redis down: nothing is recorded, so say so
            log.exception("escalation failed", answer_id=answer_id, error=repr(exc))
            return await _tell(interaction, TRY_AGAIN)
        # Private (/ask) conversations get a private acknowledgement; threads a public one.
        await interaction.response.send_message(escalation.acknowledgement, ephemeral=is_private(conversation),
                                                allowed_mentions=QUIET)
        # Two presses at once share one escalation; only the first posts it to the staff.
        if await self.support.first_delivery("discord-handover", escalation.escalation_id):
            await self._notify_staff(escalation)

    async def _notify_staff(self, escalation: Escalation) -> None:
        channel_id = self.settings.escalation_channel_id
        if channel_id is None:
            log.error("hand-over recorded but not posted: set discord.escalation_channel_id",
                      escalation=escalation.escalation_id)
            return
        role_id = self.settings.support_role_id
        try:
            await self.client.get_partial_messageable(channel_id).send(
                escalation_report(escalation, role_id),
                view=resolve_view(escalation.escalation_id, await self.support.button_signer()),
                allowed_mentions=staff_ping(role_id), suppress_embeds=True)
        except discord.HTTPException as exc:
            log.error("could not post the hand-over to the staff channel", channel=channel_id,
                      escalation=escalation.escalation_id, error=repr(exc))

    async def resolve(self, interaction: discord.Interaction, escalation_id: str) -> None:
        resolver = str(interaction.user.id)
        try:
            resolved = await self.support.resolve(escalation_id, resolved_by=resolver)
        except Exception as exc:
            log.exception("resolve failed", escalation=escalation_id, error=repr(exc))
            return await _tell(interaction, TRY_AGAIN)
        if resolved is None:
            return await _tell(interaction, "I can't find this hand-over any more.")
        if resolved.resolved_by != resolver:
            return await _tell(interaction, f"<@{resolved.resolved_by}> already marked this resolved.")
        report = interaction.message.content if interaction.message else ""
        await interaction.response.edit_message(content=resolved_report(report, resolver), view=None,
                                                allowed_mentions=QUIET)
        conversation = resolved.conversation
        if not is_private(conversation):
            try:
                await self.client.get_partial_messageable(conversation_channel_id(conversation)).send(
                    resolved_notice(resolver), allowed_mentions=QUIET)
            except discord.HTTPException as exc:
                log.warning("could not tell the thread it is resolved", error=repr(exc))

    async def rate(self, interaction: discord.Interaction, answer_id: str, *, helpful: bool) -> None:
        try:
            feedback = await self.support.feedback(answer_id, helpful, str(interaction.user.id))
        except Exception as exc:
            log.exception("feedback failed", answer_id=answer_id, error=repr(exc))
            return await _tell(interaction, TRY_AGAIN)
        if feedback is None:
            return await _tell(interaction, GONE)
        await _tell(interaction, "Thanks, glad it helped." if helpful else
                    "Thanks for telling me. If you still need help, press \"Talk to a human\".")


def presser_of(interaction: discord.Interaction, settings: DiscordSettings) -> Presser:
    """Staff: a staff, support or admin role, or an admin; from the roles Discord sent with the press."""
    author = author_from(interaction.user, interaction.permissions)
    staff_roles = set(settings.staff_role_ids) | ({settings.support_role_id} if settings.support_role_id else set())
    return Presser(str(author.id), is_staff=bool(author.role_ids & staff_roles) or is_admin(author, settings))


async def _tell(interaction: discord.Interaction, text: str) -> None:
    """A private reply to the person who pressed."""
    await interaction.response.send_message(text, ephemeral=True, allowed_mentions=QUIET)
