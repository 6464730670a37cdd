"""Bolt listeners, one module per kind of Slack request."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from adapters.slack.listeners import actions, commands, dms, messages
from adapters.slack.runtime import Runtime


def register_all(app: AsyncApp, rt: Runtime) -> None:
    dms.register(app, rt)  # before messages: the Assistant middleware must see DMs first
    messages.register(app, rt)
    actions.register(app, rt)
    commands.register(app, rt)
