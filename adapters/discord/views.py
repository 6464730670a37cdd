"""Persistent, sealed buttons: everything a press needs is in its custom_id, so buttons keep working
after a restart or on another worker (the client registers SealedButton with add_dynamic_items),
and the custom_id is sealed by the bot (bot/buttons.py), so a press is acted on only if the bot
wrote it, for that answer and that asker, and it has not expired.

custom_id = `sb:<kind>:<sealed value>` (at most 100 characters, Discord's limit), kind one of
human, yes, no, resolve (only a label for people reading payloads: the sealed value says the
action). What the sealed value names:

- on an answer: the answer id and the asker; the conversation is the bot's own record of that
  answer (found by id), so it needs no room in the custom_id;
- on an apology, where there is no answer: the conversation (its thread written as "=" when it is
  the channel itself, "ask" for the asker's private /ask conversation) and the asker;
- "Mark resolved" in the staff channel: the escalation id.

The presses are handled by the Handover cog (cogs/handover.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord

from adapters.discord.convert import ASK_PREFIX
from adapters.discord.render import ButtonSpec, answer_buttons
from bot import buttons
from bot.buttons import ButtonClaim, ButtonSigner
from bot.logs import bind_delivery
from bot.types import Answer, ConversationKey

if TYPE_CHECKING:
    from adapters.discord.cogs.handover import Handover

PLATFORM = "discord"
CUSTOM_ID_LIMIT = 100
KINDS = {buttons.HUMAN: "human", buttons.HELPFUL: "yes", buttons.NOT_HELPFUL: "no", buttons.RESOLVE: "resolve"}
ACTION_OF_SPEC = {"human": buttons.HUMAN, "yes": buttons.HELPFUL, "no": buttons.NOT_HELPFUL}
SAME_AS_CHANNEL = "="
ASK = "ask"


@dataclass(frozen=True)
class Sealing:
    """What seals one asker's buttons: the bot's signer and whom the answer is for."""

    signer: ButtonSigner
    asker: str

    def custom_id(self, claim: ButtonClaim) -> str:
        custom_id = f"sb:{KINDS[claim.action]}:{self.signer.seal(claim)}"
        if len(custom_id) > CUSTOM_ID_LIMIT:  # ids are snowflakes: this would be a bug, not input
            raise ValueError(f"custom_id of {len(custom_id)} characters: {custom_id!r}")
        return custom_id


def conversation_fields(conversation: ConversationKey, asker: str) -> tuple[str, str]:
    """(channel, thread) as sealed on an apology button, the thread shortened where it can be."""
    thread = conversation.thread
    if thread == conversation.channel.rsplit("/", 1)[-1]:
        thread = SAME_AS_CHANNEL
    elif thread == f"{ASK_PREFIX}{asker}":
        thread = ASK
    return conversation.channel, thread


def conversation_of(claim: ButtonClaim) -> ConversationKey:
    """The conversation an apology button's claim names (the inverse of conversation_fields)."""
    thread = claim.thread
    if thread == SAME_AS_CHANNEL:
        thread = claim.channel.rsplit("/", 1)[-1]
    elif thread == ASK:
        thread = f"{ASK_PREFIX}{claim.asker}"
    return ConversationKey(PLATFORM, claim.channel, thread)


def _handover(interaction: discord.Interaction) -> Handover:
    bind_delivery(PLATFORM, event_id=str(interaction.id), tenant=str(interaction.guild_id or ""))
    return interaction.client.get_cog("Handover")  # type: ignore[attr-defined,return-value]


class SealedButton(discord.ui.DynamicItem[discord.ui.Button], template=r"sb:(?P<kind>[a-z]+):(?P<value>.*)"):
    """Every button the bot posts. Old or forged custom_ids starting with "sb:" match too, so that
    their presses get a polite refusal instead of Discord's "This interaction failed"."""

    def __init__(self, custom_id: str, *, label: str = "",
                 style: discord.ButtonStyle = discord.ButtonStyle.secondary) -> None:
        super().__init__(discord.ui.Button(label=label or "…", style=style, custom_id=custom_id))
        self.value = custom_id.split(":", 2)[2] if custom_id.count(":") >= 2 else ""

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button,
                             match: re.Match[str], /) -> SealedButton:
        return cls(item.custom_id or "", label=item.label or "", style=item.style)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        async with interaction.client.inflight.working():  # type: ignore[attr-defined]
            await _handover(interaction).pressed(interaction, self.value)


DYNAMIC_ITEMS = (SealedButton,)


def _button(spec: ButtonSpec, answer_id: str, sealing: Sealing) -> SealedButton:
    claim = ButtonClaim(ACTION_OF_SPEC[spec.action], "", "", answer_id, sealing.asker)
    return SealedButton(sealing.custom_id(claim), label=spec.label, style=discord.ButtonStyle[spec.style])


def answer_view(answer: Answer, sealing: Sealing) -> discord.ui.View | None:
    specs = answer_buttons(answer)
    if not specs:
        return None
    view = discord.ui.View(timeout=None)
    for spec in specs:
        view.add_item(_button(spec, answer.answer_id, sealing))
    return view


def apology_view(conversation: ConversationKey, sealing: Sealing) -> discord.ui.View:
    channel, thread = conversation_fields(conversation, sealing.asker)
    custom_id = sealing.custom_id(ButtonClaim(buttons.HUMAN, channel, thread, "", sealing.asker))
    return discord.ui.View(timeout=None).add_item(
        SealedButton(custom_id, label="Talk to a human", style=discord.ButtonStyle.primary))


def resolve_view(escalation_id: str, signer: ButtonSigner) -> discord.ui.View:
    custom_id = Sealing(signer, "").custom_id(ButtonClaim(buttons.RESOLVE, "", "", escalation_id, ""))
    return discord.ui.View(timeout=None).add_item(
        SealedButton(custom_id, label="Mark resolved", style=discord.ButtonStyle.success))
