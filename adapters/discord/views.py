"""Persistent buttons: everything a press needs is in its custom_id, so buttons keep working after
a restart or on another worker (the client registers these classes with add_dynamic_items).

- `sb:<human|yes|no>:<answer id>`: on an answer; the service finds the conversation by answer id.
- `sb:human@<guild>/<channel>:<thread>`: on an apology, where there is no answer to refer to.
- `sb:resolve:<escalation id>`: "Mark resolved" in the staff channel.

The presses are handled by the Handover cog (cogs/handover.py).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord

from adapters.discord.render import ButtonSpec, answer_buttons
from bot.logs import bind_delivery
from bot.types import Answer, ConversationKey

if TYPE_CHECKING:
    from adapters.discord.cogs.handover import Handover

PLATFORM = "discord"


def _handover(interaction: discord.Interaction) -> Handover:
    bind_delivery(PLATFORM, event_id=str(interaction.id), tenant=str(interaction.guild_id or ""))
    return interaction.client.get_cog("Handover")  # type: ignore[attr-defined,return-value]


class AnswerButton(discord.ui.DynamicItem[discord.ui.Button],
                   template=r"sb:(?P<action>human|yes|no):(?P<answer_id>[0-9a-f]{32})"):
    def __init__(self, action: str, answer_id: str, *, label: str = "",
                 style: discord.ButtonStyle = discord.ButtonStyle.secondary) -> None:
        super().__init__(discord.ui.Button(label=label or action, style=style,
                                           custom_id=f"sb:{action}:{answer_id}"))
        self.action = action
        self.answer_id = answer_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button,
                             match: re.Match[str], /) -> AnswerButton:
        return cls(match["action"], match["answer_id"], label=item.label or "", style=item.style)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        async with interaction.client.inflight.working():  # type: ignore[attr-defined]
            if self.action == "human":
                await _handover(interaction).talk_to_human(interaction, answer_id=self.answer_id)
            else:
                await _handover(interaction).rate(interaction, self.answer_id, helpful=self.action == "yes")


class HumanHereButton(discord.ui.DynamicItem[discord.ui.Button],
                      template=r"sb:human@(?P<channel>(?:\d+|@me)/\d+):(?P<thread>[\w-]+)"):
    def __init__(self, conversation: ConversationKey) -> None:
        super().__init__(discord.ui.Button(
            label="Talk to a human", style=discord.ButtonStyle.primary,
            custom_id=f"sb:human@{conversation.channel}:{conversation.thread}"))
        self.conversation = conversation

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button,
                             match: re.Match[str], /) -> HumanHereButton:
        return cls(ConversationKey(PLATFORM, match["channel"], match["thread"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        async with interaction.client.inflight.working():  # type: ignore[attr-defined]
            await _handover(interaction).talk_to_human(interaction, conversation=self.conversation)


class ResolveButton(discord.ui.DynamicItem[discord.ui.Button],
                    template=r"sb:resolve:(?P<escalation_id>[0-9a-f]{32})"):
    def __init__(self, escalation_id: str) -> None:
        super().__init__(discord.ui.Button(label="Mark resolved", style=discord.ButtonStyle.success,
                                           custom_id=f"sb:resolve:{escalation_id}"))
        self.escalation_id = escalation_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button,
                             match: re.Match[str], /) -> ResolveButton:
        return cls(match["escalation_id"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        async with interaction.client.inflight.working():  # type: ignore[attr-defined]
            await _handover(interaction).resolve(interaction, self.escalation_id)


DYNAMIC_ITEMS = (AnswerButton, HumanHereButton, ResolveButton)


def _button(spec: ButtonSpec, answer_id: str) -> AnswerButton:
    return AnswerButton(spec.action, answer_id, label=spec.label, style=discord.ButtonStyle[spec.style])


def answer_view(answer: Answer) -> discord.ui.View | None:
    specs = answer_buttons(answer)
    if not specs:
        return None
    view = discord.ui.View(timeout=None)
    for spec in specs:
        view.add_item(_button(spec, answer.answer_id))
    return view


def apology_view(conversation: ConversationKey) -> discord.ui.View:
    return discord.ui.View(timeout=None).add_item(HumanHereButton(conversation))


def resolve_view(escalation_id: str) -> discord.ui.View:
    return discord.ui.View(timeout=None).add_item(ResolveButton(escalation_id))
