"""The chat-platform sections of the settings: what the Slack and Discord adapters read.

Plain data, no platform SDK: bot.settings.Settings holds one of each, so every entry point still
builds a single settings object.
"""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, model_validator


class DiscordSettings(BaseModel):
    """The Discord adapter (`python -m adapters.discord`). Ids are Discord snowflakes (numbers).
    The bot token is Settings.discord_token (DISCORD_TOKEN), a top-level field so that the usual
    variable name also works in .env."""

    model_config = {"extra": "forbid"}
    auto_answer_channel_ids: list[int] = Field(
        default_factory=list, description="channels where every message gets an answer (in a thread)"
    )
    forum_channel_ids: list[int] = Field(
        default_factory=list, description="forum channels where every new post gets an answer"
    )
    staff_channel_ids: list[int] = Field(
        default_factory=list, description="channels (and their threads) answered with staff documents"
    )
    staff_role_ids: list[int] = Field(default_factory=list, description="roles answered as staff anywhere")
    admin_role_ids: list[int] = Field(default_factory=list, description="roles allowed to run /reindex")
    admin_user_ids: list[int] = Field(default_factory=list, description="users allowed to run /reindex")
    admin_permission: Literal["manage_guild", "administrator", "manage_channels", "none"] = Field(
        "none", description="members with this server permission may run /reindex too (opt-in: "
        "it applies in every server the bot is in)"
    )
    escalation_channel_id: int | None = Field(
        None, description="staff channel that receives hand-overs (the adapter does not start without it)")
    support_role_id: int | None = Field(None, description="role mentioned on each hand-over")
    edit_interval_s: float = Field(
        1.0, ge=0.2, le=10, description="at most one edit of a streaming answer per this many seconds"
    )
    sync_commands: bool = Field(True, description="register /ask and /reindex at start")
    startup_retry_s: float = Field(
        60, ge=1, le=3600, description="how long to keep retrying when Discord cannot be reached at start",
    )
    command_guild_ids: list[int] = Field(
        default_factory=list,
        description="register the commands in these servers only (instant); empty = globally",
    )


class SlackSettings(BaseModel):
    """The Slack adapter (`python -m adapters.slack`). Ids are Slack's: C… channels, U… users, S… groups.

    The three secrets also read Slack's usual variable names (SLACK_BOT_TOKEN, SLACK_APP_TOKEN,
    SLACK_SIGNING_SECRET) from the environment or .env, as Slack's own guides name them.
    """

    model_config = {"extra": "forbid"}
    bot_token: SecretStr | None = Field(None, description="xoxb-… (SLACK_BOT_TOKEN)")
    app_token: SecretStr | None = Field(None, description="xapp-… for Socket Mode (SLACK_APP_TOKEN)")
    signing_secret: SecretStr | None = Field(None, description="HTTP mode only (SLACK_SIGNING_SECRET)")
    mode: Literal["socket", "http"] = Field("socket", description="socket needs no public URL")
    http_host: str = "0.0.0.0"
    http_port: int = Field(3000, ge=1, le=65535)
    http_path: str = Field("/slack/events", pattern=r"^/")
    api_base_url: str | None = Field(None, description="Slack Web API base URL (a proxy); unset = Slack")
    startup_retry_s: float = Field(
        60, ge=1, le=3600, description="how long to keep retrying when Slack cannot be reached at start",
    )
    hold_ack_s: float = Field(
        0.0, ge=0, le=2.5, description="how long an event's acknowledgement waits for its reply to be "
        "posted (Slack allows 3 s): a worker that dies while answering has then not acknowledged the "
        "event, so Slack redelivers it and another worker answers. 0 = acknowledge at once (the "
        "default: held acknowledgements come later than 3 s on workers that have fallen behind)")
    staff_channels: list[str] = Field(default_factory=list, description="channels answered as staff")
    auto_answer_channels: list[str] = Field(default_factory=list,
                                            description="channels where every message is answered")
    escalation_channel: str = Field("", description="where hand-overs are posted; default: first staff channel")
    support_group: str = Field("", description="S… user group (or U… user) mentioned on hand-over")
    admin_users: list[str] = Field(default_factory=list, description="U… ids allowed to /reindex")
    staff_users: list[str] = Field(
        default_factory=list, description="U… ids who may press any answer's buttons and Mark resolved "
        "anywhere (anyone of this workspace pressing inside a staff channel counts as staff too)")
    experience: Literal["agent", "assistant"] = Field(
        "agent", description="how the app lives in DMs: \"agent\" for apps whose manifest has "
        "features.agent_view (every new app), \"assistant\" for existing apps still on assistant_view",
    )
    suggested_prompts: list[str] = Field(
        default_factory=lambda: ["How do I return an item?", "How long does shipping take?",
                                 "What does the warranty cover?"],
        max_length=4, description="offered when someone opens a DM with the app (Slack shows up to 4)",
    )

    @model_validator(mode="before")
    @classmethod
    def _slack_variable_names(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        from dotenv import dotenv_values

        found = {**dotenv_values(".env"), **os.environ}
        names = {"bot_token": "SLACK_BOT_TOKEN", "app_token": "SLACK_APP_TOKEN",
                 "signing_secret": "SLACK_SIGNING_SECRET"}
        extra = {field: found[name] for field, name in names.items()
                 if data.get(field) is None and found.get(name)}
        return {**data, **extra}

    @property
    def staff_channel(self) -> str:
        """The channel escalations go to."""
        return self.escalation_channel or next(iter(self.staff_channels), "")
