"""Who is who on Slack, for the decisions the core makes: staff or not, this workspace or not.

- Slack Connect: someone from another organisation in a shared channel (`is_stranger`, or a
  `user_team` / `team` other than the workspace the event was delivered to) is always answered
  from public documents, even in a staff channel, and is never staff for buttons.
- Staff, for buttons: the bot's admins and `slack.staff_users` anywhere; anyone of this workspace
  pressing inside a staff channel (only its members see its messages).
- Button values are sealed by the core's signer and bound to the asker (bot/buttons.py).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from adapters.slack.refs import ThreadRef
from adapters.slack.runtime import Runtime
from bot.buttons import Presser
from bot.settings import SlackSettings
from bot.types import Audience, Inquiry


def is_foreign(user_facts: dict[str, Any], workspace: str) -> bool:
    """True for a user of another organisation (Slack Connect). `user_facts` is an event, or a
    block_actions `user` object; `workspace` is the team the app received it for."""
    if user_facts.get("is_stranger"):
        return True
    team = user_facts.get("user_team") or user_facts.get("team_id") or user_facts.get("team") or ""
    return bool(workspace and team and team != workspace)


def for_connect(inquiry: Inquiry, foreign: bool) -> Inquiry:
    """A foreign user's question is answered as a customer's, wherever it was asked."""
    return replace(inquiry, audience=Audience.PUBLIC) if foreign else inquiry


def presser(body: dict[str, Any], slack: SlackSettings) -> Presser:
    user = body.get("user") or {}
    user_id = user.get("id", "")
    workspace = (body.get("team") or {}).get("id", "")
    if is_foreign(user, workspace):
        return Presser(user_id, is_staff=False)
    channel = (body.get("channel") or {}).get("id", "")
    listed = user_id in slack.admin_users or user_id in slack.staff_users
    return Presser(user_id, is_staff=listed or channel in slack.staff_channels)


async def thread_ref(rt: Runtime, channel: str, thread: str, asker: str) -> ThreadRef:
    """Where an answer goes, with what its buttons need to be sealed for `asker`."""
    return ThreadRef(channel, thread, asker=asker, signer=await rt.bot.button_signer())
