"""Pure rules: when to answer, where, for which audience, and who is an admin."""

from __future__ import annotations

import discord
import pytest

from adapters.discord.convert import (
    Author,
    MessageFacts,
    Place,
    Route,
    ask_conversation,
    audience_for,
    author_from,
    conversation_channel_id,
    conversation_for,
    inquiry_for,
    is_admin,
    is_private,
    link_to,
    question_text,
    route_for,
    thread_name,
)
from bot.settings import DiscordSettings
from bot.types import Audience

SETTINGS = DiscordSettings(auto_answer_channel_ids=[10], forum_channel_ids=[20], staff_channel_ids=[30],
                           staff_role_ids=[7], admin_role_ids=[8], admin_user_ids=[99],
                           admin_permission="manage_guild")
GUILD, BOT = 1, 500
CUSTOMER = Author(id=5, name="casey")


def facts(place: Place, *, mention=False, author=CUSTOMER, message_id=1000, content="Where is my order?"):
    return MessageFacts(message_id=message_id, place=place, author=author, content=content, mentions_bot=mention)


@pytest.mark.parametrize("place, mention, followed, expected", [
    (Place(GUILD, 11), True, False, Route.OPEN_THREAD),           # mention in a channel
    (Place(GUILD, 11), False, False, None),                        # plain chatter
    (Place(GUILD, 10), False, False, Route.OPEN_THREAD),          # auto-answer channel
    (Place(None, 12), False, False, Route.HERE),                  # DM
    (Place(GUILD, 13, parent_id=11, is_thread=True), False, True, Route.HERE),   # the bot's thread
    (Place(GUILD, 13, parent_id=11, is_thread=True), False, False, None),        # someone else's
    (Place(GUILD, 13, parent_id=11, is_thread=True), True, False, Route.HERE),   # mentioned there
])
def test_route(place, mention, followed, expected):
    assert route_for(facts(place, mention=mention), SETTINGS, followed=followed) is expected


def test_bots_are_never_answered():
    bot_author = Author(id=6, is_bot=True)
    assert route_for(facts(Place(None, 12), author=bot_author, mention=True), SETTINGS, followed=True) is None


def test_only_the_opening_message_of_a_forum_post_is_answered_unasked():
    post = Place(GUILD, 2000, parent_id=20, is_thread=True)
    assert route_for(facts(post, message_id=2000), SETTINGS, followed=False) is Route.HERE
    assert route_for(facts(post, message_id=2001), SETTINGS, followed=False) is None


def test_audience_by_staff_channel_or_thread_or_a_private_reply_to_a_staff_role():
    assert audience_for(Place(GUILD, 30), CUSTOMER, SETTINGS) is Audience.STAFF
    assert audience_for(Place(GUILD, 31, parent_id=30, is_thread=True), CUSTOMER, SETTINGS) is Audience.STAFF
    agent = Author(id=5, role_ids=frozenset({7}))
    assert audience_for(Place(GUILD, 11), agent, SETTINGS) is Audience.PUBLIC  # customers read it
    assert audience_for(Place(GUILD, 11), agent, SETTINGS, private=True) is Audience.STAFF
    assert audience_for(Place(GUILD, 11), CUSTOMER, SETTINGS, private=True) is Audience.PUBLIC
    assert audience_for(Place(GUILD, 11), CUSTOMER, SETTINGS) is Audience.PUBLIC
    assert audience_for(Place(None, 12), CUSTOMER, SETTINGS) is Audience.PUBLIC


def test_admins_by_user_role_or_permission():
    assert is_admin(Author(id=99), SETTINGS)
    assert is_admin(Author(id=5, role_ids=frozenset({8})), SETTINGS)
    assert is_admin(Author(id=5, permissions=frozenset({"manage_guild"})), SETTINGS)
    # Permissions count only when opted in: the bot may be in servers whose managers are not ours.
    assert not is_admin(Author(id=5, permissions=frozenset({"administrator"})), DiscordSettings())
    assert not is_admin(Author(id=5, role_ids=frozenset({7}), permissions=frozenset({"send_messages"})), SETTINGS)
    strict = SETTINGS.model_copy(update={"admin_permission": "none"})
    assert not is_admin(Author(id=5, permissions=frozenset({"manage_guild"})), strict)


def test_author_from_keeps_only_granted_permissions():
    class Member:
        id, name, display_name, bot, roles, _roles = 5, "casey", "Casey", False, [], [7, 8]

    # A member with no permissions must not pass as an admin (every flag is listed, most False).
    none = author_from(Member(), discord.Permissions.none())
    assert none.permissions == frozenset()
    assert not is_admin(Author(id=5, permissions=none.permissions), SETTINGS)
    managers = author_from(Member(), discord.Permissions(manage_guild=True))
    assert managers.permissions == {"manage_guild"} and managers.role_ids == {7, 8} and managers.name == "Casey"


def test_conversations_and_links():
    thread = conversation_for(Place(GUILD, 11), Route.OPEN_THREAD, message_id=1000)
    assert (thread.platform, thread.channel, thread.thread) == ("discord", "1/1000", "1000")
    assert link_to(thread) == "https://discord.com/channels/1/1000" and not is_private(thread)
    dm = conversation_for(Place(None, 12), Route.HERE, message_id=1001)
    assert link_to(dm) == "https://discord.com/channels/@me/12" and conversation_channel_id(dm) == 12
    ask = ask_conversation(GUILD, 11, 5)
    assert is_private(ask) and ask.thread == "ask-5" and conversation_channel_id(ask) == 11


def test_question_text_and_thread_names():
    assert question_text(f"<@{BOT}>  where is\tmy order? <@!{BOT}>", BOT) == "where is my order?"
    assert question_text("<@123> can you help?", BOT) == "<@123> can you help?"  # other people stay
    assert thread_name("\n  Refund for order 55\nmore detail") == "Refund for order 55"
    assert thread_name("<@123>") == "Question"
    long = thread_name("word " * 40)
    assert len(long) <= 90 and long.endswith("…") and not long.endswith(" …")


def test_inquiry_carries_audience_admin_and_event_id():
    place = Place(GUILD, 30)
    inquiry = inquiry_for(facts(place, mention=True, author=Author(id=99, name="robin"),
                                content=f"<@{BOT}> What is the limit?"),
                          conversation_for(place, Route.OPEN_THREAD, 1000), SETTINGS, BOT)
    assert inquiry.text == "What is the limit?" and inquiry.audience is Audience.STAFF
    assert inquiry.is_admin and inquiry.event_id == "1000" and inquiry.user_id == "99"
