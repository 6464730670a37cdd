"""Discord messages and interactions -> neutral facts, and the rules for when the bot answers.

Everything but the two `*_from_*` readers is a pure function over plain values, so the rules are
tested without discord.py objects. Conversations are keyed so that the thread link can be made
from the key alone: channel = "<guild id or @me>/<channel id where it is visible>".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import discord

from bot.answering.links import scrub
from bot.settings import DiscordSettings
from bot.types import Audience, ConversationKey, Inquiry

PLATFORM = "discord"
DM = "@me"
ASK_PREFIX = "ask-"  # /ask conversations: private to one user, not a visible thread
THREAD_NAME_LIMIT = 90  # Discord allows 100 characters


@dataclass(frozen=True)
class Place:
    """Where a message was written."""

    guild_id: int | None  # None in a DM
    channel_id: int  # the channel, thread or DM the message is in
    parent_id: int | None = None  # for a thread: its channel or forum
    is_thread: bool = False

    @property
    def is_dm(self) -> bool:
        return self.guild_id is None


@dataclass(frozen=True)
class Author:
    id: int
    name: str = ""
    is_bot: bool = False
    role_ids: frozenset[int] = frozenset()
    permissions: frozenset[str] = frozenset()  # names of the permissions granted, e.g. "manage_guild"


@dataclass(frozen=True)
class MessageFacts:
    message_id: int
    place: Place
    author: Author
    content: str
    mentions_bot: bool


class Route(StrEnum):
    OPEN_THREAD = "open-thread"  # a channel message: answer in a new thread started from it
    HERE = "here"  # a DM or a thread: answer where it was asked


# ----- rules ---------------------------------------------------------------------------------

def route_for(facts: MessageFacts, settings: DiscordSettings, *, followed: bool) -> Route | None:
    """Whether and where to answer; `followed` says the bot already answers in this thread."""
    if facts.author.is_bot:
        return None
    place = facts.place
    if place.is_dm:
        return Route.HERE
    if place.is_thread:
        if facts.mentions_bot or followed or is_new_forum_post(facts, settings):
            return Route.HERE
        return None
    if facts.mentions_bot or place.channel_id in settings.auto_answer_channel_ids:
        return Route.OPEN_THREAD
    return None


def is_new_forum_post(facts: MessageFacts, settings: DiscordSettings) -> bool:
    """The opening message of a forum post has the post's (thread's) id."""
    place = facts.place
    return (place.is_thread and place.parent_id in settings.forum_channel_ids
            and facts.message_id == place.channel_id)


def audience_for(place: Place, author: Author, settings: DiscordSettings, *, private: bool = False) -> Audience:
    """Staff answers only where only staff read them: configured staff channels (and their
    threads), or a private reply (/ask) to someone with a staff role. A staff member asking in a
    public channel gets the public answer, since customers read it (and its thread's memory)."""
    in_staff_channel = bool({place.channel_id, place.parent_id} & set(settings.staff_channel_ids))
    if in_staff_channel or (private and author.role_ids & set(settings.staff_role_ids)):
        return Audience.STAFF
    return Audience.PUBLIC


def is_admin(author: Author, settings: DiscordSettings) -> bool:
    """Checked here, not left to Discord's default command permissions, which servers can change."""
    # A server permission alone is opt-in: the bot may sit in servers whose managers are not ours.
    return (author.id in settings.admin_user_ids
            or bool(author.role_ids & set(settings.admin_role_ids))
            or (settings.admin_permission != "none" and settings.admin_permission in author.permissions))


# ----- conversations -------------------------------------------------------------------------

def conversation_at(guild_id: int | None, channel_id: int, thread: str | None = None) -> ConversationKey:
    return ConversationKey(PLATFORM, f"{guild_id or DM}/{channel_id}", thread or str(channel_id))


def conversation_for(place: Place, route: Route, message_id: int) -> ConversationKey:
    """A new thread started from a message has the message's id."""
    channel_id = message_id if route is Route.OPEN_THREAD else place.channel_id
    return conversation_at(place.guild_id, channel_id)


def ask_conversation(guild_id: int | None, channel_id: int, user_id: int) -> ConversationKey:
    """/ask answers are private, so each user has their own memory in a channel."""
    return conversation_at(guild_id, channel_id, f"{ASK_PREFIX}{user_id}")


def conversation_channel_id(conversation: ConversationKey) -> int:
    return int(conversation.channel.rsplit("/", 1)[1])


def is_private(conversation: ConversationKey) -> bool:
    """Private (/ask) conversations have no thread the bot could post in for everyone."""
    return conversation.thread.startswith(ASK_PREFIX)


def link_to(conversation: ConversationKey) -> str:
    return f"https://discord.com/channels/{conversation.channel}"


# ----- text ----------------------------------------------------------------------------------

def question_text(content: str, bot_id: int) -> str:
    """The message without the bot's mention, whitespace tidied."""
    text = re.sub(rf"<@!?{bot_id}>", " ", scrub(content))  # no NUL or lone surrogate past here
    return re.sub(r"[ \t]+", " ", text).strip()


def thread_name(question: str) -> str:
    first_line = next((line.strip() for line in scrub(question).splitlines() if line.strip()), "")
    first_line = re.sub(r"<[@#][!&]?\d+>", "", first_line).strip() or "Question"
    if len(first_line) <= THREAD_NAME_LIMIT:
        return first_line
    return first_line[: THREAD_NAME_LIMIT - 1].rsplit(" ", 1)[0] + "…"


def team_of(place: Place) -> str | None:
    """The server whose knowledge base answers (used when weaviate.multi_tenancy is on)."""
    return str(place.guild_id) if place.guild_id is not None else None


def inquiry_for(facts: MessageFacts, conversation: ConversationKey, settings: DiscordSettings,
                bot_id: int) -> Inquiry:
    return Inquiry(
        text=question_text(facts.content, bot_id), conversation=conversation,
        user_id=str(facts.author.id), audience=audience_for(facts.place, facts.author, settings),
        user_name=facts.author.name, event_id=str(facts.message_id),
        is_admin=is_admin(facts.author, settings), tenant=team_of(facts.place),
    )


# ----- reading discord.py objects ------------------------------------------------------------

def author_from(user: Any, permissions: Any = None) -> Author:
    """A User or Member; `permissions` overrides the member's server permissions (interactions
    carry the resolved ones)."""
    roles = {role.id for role in getattr(user, "roles", ())}
    # Role ids as sent by Discord, even for roles the cache does not know.
    roles |= set(getattr(user, "_roles", ()))
    perms = permissions if permissions is not None else getattr(user, "guild_permissions", None)
    granted = frozenset(name for name, value in perms if value) if perms is not None else frozenset()
    return Author(id=user.id, name=getattr(user, "display_name", "") or user.name,
                  is_bot=bool(user.bot), role_ids=frozenset(roles), permissions=granted)


def place_from(channel: Any, guild_id: int | None) -> Place:
    if isinstance(channel, discord.Thread):
        return Place(guild_id=guild_id, channel_id=channel.id, parent_id=channel.parent_id, is_thread=True)
    return Place(guild_id=guild_id, channel_id=channel.id)


def facts_from_message(message: Any, bot_id: int, channel: Any = None) -> MessageFacts:
    channel = channel or message.channel
    guild_id = message.guild.id if message.guild else getattr(channel, "guild_id", None)
    mentioned = any(user.id == bot_id for user in message.mentions) or bool(
        re.search(rf"<@!?{bot_id}>", message.content))
    return MessageFacts(message_id=message.id, place=place_from(channel, guild_id),
                        author=author_from(message.author), content=message.content,
                        mentions_bot=mentioned)


def command_inquiry(interaction: discord.Interaction, question: str, conversation: ConversationKey,
                    settings: DiscordSettings) -> Inquiry:
    """/ask: the interaction carries the member's roles and resolved permissions."""
    author = author_from(interaction.user, interaction.permissions)
    channel = interaction.channel
    place = (place_from(channel, interaction.guild_id) if channel is not None
             else Place(guild_id=interaction.guild_id, channel_id=interaction.channel_id or 0))
    return Inquiry(text=question, conversation=conversation, user_id=str(author.id),
                   audience=audience_for(place, author, settings, private=True), user_name=author.name,
                   event_id=str(interaction.id), is_admin=is_admin(author, settings),
                   tenant=team_of(place))
