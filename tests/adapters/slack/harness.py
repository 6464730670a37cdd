"""Drives the real bolt AsyncApp with Slack-shaped, signed requests against the mock Web API."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier

from adapters.slack.runtime import Runtime
from bot.service import SupportBot
from tests.fakes.slack_api import TEAM_ID, FakeSlack

SIGNING_SECRET = "test-signing-secret"
STAFF = "CSTAFF"
PUBLIC = "CPUBLIC"
AUTO = "CAUTO"
DM = "D0ASKER"
ADMIN = "UADMIN"
ASKER = "UASKER"
AGENT = "UAGENT"
BOT_USER = "U0BOT"


def signed_headers(body: str, content_type: str, *, timestamp: int | None = None,
                   secret: str = SIGNING_SECRET, extra: dict[str, str] | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return {"content-type": content_type, "x-slack-request-timestamp": ts, "x-slack-signature": signature,
            **(extra or {})}


def event_body(event: dict[str, Any], event_id: str | None = None) -> str:
    return json.dumps({"token": "legacy", "team_id": TEAM_ID, "api_app_id": "A0APP", "type": "event_callback",
                       "event": event, "event_id": event_id or f"Ev{uuid.uuid4().hex[:10]}",
                       "event_time": int(time.time())})


def form_body(fields: dict[str, Any]) -> str:
    return urlencode(fields)


_ts = iter(range(1, 10_000_000))


def new_ts() -> str:
    return f"{1_800_000_000 + next(_ts)}.000200"


@dataclass
class Harness:
    app: AsyncApp
    rt: Runtime
    bot: SupportBot
    slack: FakeSlack

    async def send(self, body: str, content_type: str, **header_options) -> BoltResponse:
        request = AsyncBoltRequest(body=body, headers=signed_headers(body, content_type, **header_options))
        return await self.app.async_dispatch(request)

    async def event(self, event: dict[str, Any], event_id: str | None = None, **header_options) -> BoltResponse:
        if event.get("type") in ("message", "app_mention") and event.get("user"):
            # The person's message exists in Slack before the event reaches the bot.
            self.slack.add_user_message(event["channel"], event["ts"], event["user"], event.get("text", ""),
                                        event.get("thread_ts"))
        response = await self.send(event_body(event, event_id), "application/json", **header_options)
        await self.rt.drain()
        return response

    async def mention(self, text: str, *, channel: str = PUBLIC, user: str = ASKER, thread_ts: str | None = None,
                      event_id: str | None = None) -> str:
        """Mention the bot; returns the thread the bot answers in."""
        ts = new_ts()
        event = {"type": "app_mention", "user": user, "text": f"<@{BOT_USER}> {text}", "ts": ts,
                 "channel": channel, "event_ts": ts, "team": TEAM_ID}
        if thread_ts:
            event["thread_ts"] = thread_ts
        await self.event(event, event_id)
        return thread_ts or ts

    async def message(self, text: str, *, channel: str = PUBLIC, user: str = ASKER, thread_ts: str | None = None,
                      channel_type: str = "channel", event_id: str | None = None) -> str:
        ts = new_ts()
        event = {"type": "message", "user": user, "text": text, "ts": ts, "channel": channel,
                 "channel_type": channel_type, "event_ts": ts, "team": TEAM_ID}
        if thread_ts:
            event["thread_ts"] = thread_ts
        await self.event(event, event_id)
        return thread_ts or ts

    async def press(self, action_id: str, value: str, *, user: str = ASKER, channel: str = PUBLIC,
                    message: dict[str, Any] | None = None, ephemeral: bool = False,
                    user_team: str = TEAM_ID) -> BoltResponse:
        if message is None:  # a message of the bot's, as Slack would hold it
            message = {"type": "message", "ts": new_ts(), "text": "", "blocks": []}
            if not ephemeral:  # an ephemeral message is nowhere in the channel's history
                self.slack.add_user_message(channel, message["ts"], BOT_USER, "")
        payload = {
            "type": "block_actions", "team": {"id": TEAM_ID}, "user": {"id": user, "team_id": user_team},
            "api_app_id": "A0APP", "trigger_id": "trigger", "channel": {"id": channel},
            "container": {"type": "message", "message_ts": message["ts"], "channel_id": channel,
                          "is_ephemeral": ephemeral},
            "response_url": self.slack.response_url(action_id),
            "actions": [{"type": "button", "action_id": action_id, "block_id": "b", "value": value,
                         "action_ts": str(time.time())}],
        }
        if not ephemeral:
            payload["message"] = message
        response = await self.send(form_body({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")
        await self.rt.drain()
        return response

    async def command(self, name: str, text: str = "", *, user: str = ASKER, channel: str = PUBLIC,
                      drain: bool = True) -> BoltResponse:
        body = form_body({"token": "legacy", "team_id": TEAM_ID, "channel_id": channel, "user_id": user,
                          "user_name": user.lower(), "command": name, "text": text, "api_app_id": "A0APP",
                          "response_url": self.slack.response_url(name.strip("/")),
                          "trigger_id": f"{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex[:16]}"})  # unique per use
        response = await self.send(body, "application/x-www-form-urlencoded")
        if drain:
            await self.rt.drain()
        return response
