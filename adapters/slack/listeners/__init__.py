"""Bolt listeners, one module per kind of Slack request."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from adapters.slack.listeners import actions, commands, messages
from adapters.slack.runtime import Runtime


def register_all(app: AsyncApp, rt: Runtime) -> None:
    messages.register(app, rt)
    actions.register(app, rt)
    commands.register(app, rt)
