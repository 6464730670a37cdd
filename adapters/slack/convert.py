"""Slack payloads -> neutral values. Pure: no client calls, no state.

Who is staff and who is an admin is decided here from the settings, by channel and user id
(never from anything a user typed), and travels in the Inquiry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.answering.links import scrub
from bot.settings import SlackSettings
from bot.types import Audience, ConversationKey, Inquiry

PLATFORM = "slack"
# Linear on any input: repeats stop at the next `<` or `>` and are bounded (40,000 characters of
# unclosed `<https://` once made the old patterns rescan the rest of the text from each `<`).
_USER_MENTION = re.compile(r"<@([UW][A-Z0-9]{1,30})(?:\|[^<>]{0,200})?>")
_MARKUP = re.compile(r"<([^<>]{1,4000})>")
_ENTITY = re.compile(r"&(amp|lt|gt);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}
# Message subtypes that are still a person writing; edits, joins, bot posts and the like are not.
_PERSON_SUBTYPES = {None, "file_share", "thread_broadcast"}


@dataclass(frozen=True)
class Message:
    """The parts of a Slack message (or app_mention) event that decide where and how to answer."""

    channel: str
    user: str
    text: str
    ts: str
    thread_ts: str
    channel_type: str
    team: str

    @property
    def thread(self) -> str:
        """The thread the reply goes to: the message's thread, or a new one under the message."""
        return self.thread_ts or self.ts

    @property
    def in_thread(self) -> bool:
        return bool(self.thread_ts) and self.thread_ts != self.ts

    @property
    def is_dm(self) -> bool:
        return self.channel_type == "im"


def message_from_event(event: dict[str, Any], team: str = "") -> Message:
    return Message(channel=event.get("channel", ""), user=event.get("user", ""),
                   text=event.get("text") or "", ts=event.get("ts", ""),
                   thread_ts=event.get("thread_ts") or "", channel_type=event.get("channel_type", ""),
                   team=event.get("team") or team)


def is_from_a_person(event: dict[str, Any]) -> bool:
    return (event.get("subtype") in _PERSON_SUBTYPES and not event.get("bot_id")
            and bool(event.get("user")))


def mentions(text: str, user_id: str) -> bool:
    return bool(user_id) and any(m.group(1) == user_id for m in _USER_MENTION.finditer(text))


def plain_text(text: str, bot_user_id: str = "") -> str:
    """Slack's message markup as the words a person typed: no bot mention, other mentions and
    links as readable text ("@name", "label (url)"), entities decoded once, in one pass, so a
    typed `&lt;!channel&gt;` stays those characters. What comes out is text: every renderer
    escapes it again (mrkdwn.escape)."""
    text = _MARKUP.sub(lambda m: _readable(m.group(1), bot_user_id), scrub(text))
    text = _ENTITY.sub(lambda m: _ENTITIES[m.group(1)], text)
    return " ".join(text.split())


def _readable(markup: str, bot_user_id: str) -> str:
    """One piece of Slack markup (the text between < and >) as the words it shows."""
    target, _, label = markup.partition("|")
    if target.startswith("@"):
        return "" if target[1:] == bot_user_id else "@" + (label or target[1:])
    if target.startswith("#"):
        return "#" + (label or target[1:])
    if target.startswith("!"):  # !channel, !here, !subteam^S…, !date^…: a label when there is one
        return label or "@" + target[1:].split("^", 1)[0]
    if label and label != target.removeprefix("mailto:"):
        return f"{label} ({target})"
    return label or target


def conversation(channel: str, thread: str) -> ConversationKey:
    return ConversationKey(PLATFORM, channel, thread)


def audience(channel: str, slack: SlackSettings) -> Audience:
    """Staff only in the configured staff channels; everywhere else (DMs, shared channels) public."""
    return Audience.STAFF if channel in slack.staff_channels else Audience.PUBLIC


def is_admin(user: str, slack: SlackSettings) -> bool:
    return user in slack.admin_users


def inquiry_from_message(message: Message, slack: SlackSettings, *, bot_user_id: str,
                         event_id: str = "") -> Inquiry:
    return Inquiry(text=plain_text(message.text, bot_user_id),
                   conversation=conversation(message.channel, message.thread),
                   user_id=message.user, audience=audience(message.channel, slack),
                   event_id=event_id, is_admin=is_admin(message.user, slack), tenant=message.team or None)


def ask_thread(user: str) -> str:
    """/ask answers privately, outside any thread: each user's /asks in a channel share memory."""
    return f"ask-{user}"


def inquiry_from_command(command: dict[str, Any], slack: SlackSettings) -> Inquiry:
    channel, user = command.get("channel_id", ""), command.get("user_id", "")
    return Inquiry(text=plain_text(command.get("text") or ""),
                   conversation=conversation(channel, ask_thread(user)), user_id=user,
                   user_name=command.get("user_name", ""), audience=audience(channel, slack),
                   is_admin=is_admin(user, slack), tenant=command.get("team_id") or None)


def action_user(body: dict[str, Any]) -> str:
    return (body.get("user") or {}).get("id", "")


def action_value(body: dict[str, Any]) -> str:
    actions = body.get("actions") or [{}]
    return actions[0].get("value", "")


def is_ephemeral(body: dict[str, Any]) -> bool:
    """A button on a message only its reader sees (an /ask answer): reply via response_url."""
    return bool((body.get("container") or {}).get("is_ephemeral"))
