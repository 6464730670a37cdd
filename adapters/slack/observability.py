"""Log context for each Slack request: the first middleware binds the request's ids, so every line
logged while handling it (bolt's and slack_sdk's too) carries the same event id."""

from __future__ import annotations

from typing import Any

from adapters.slack.convert import PLATFORM
from bot.logs import bind_delivery


def delivery_ids(body: dict[str, Any]) -> dict[str, str]:
    """Event id, conversation and team of an Events API callback, a button press or a command.
    Interactions and commands have no event id; their trigger id names the delivery instead."""
    event = body.get("event") or {}
    channel = (event.get("channel") or (body.get("channel") or {}).get("id")
               or body.get("channel_id") or "")
    container = body.get("container") or {}
    thread = (event.get("thread_ts") or event.get("ts") or container.get("thread_ts")
              or container.get("message_ts") or "")
    team = body.get("team_id") or (body.get("team") or {}).get("id") or ""
    return {"event_id": body.get("event_id") or body.get("trigger_id") or "",
            "conversation": f"{PLATFORM}:{channel}:{thread}" if channel else "",
            "tenant": team}


async def bind_log_context(body: dict[str, Any], next) -> Any:
    bind_delivery(PLATFORM, **delivery_ids(body))
    return await next()
