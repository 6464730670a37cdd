"""A local mock of the Discord REST API for tests: an aiohttp server recording every call.

Point discord.py at it by setting ``discord.http.Route.BASE`` to ``api.base``; interaction
callbacks and follow-up webhooks go through the same Route class, so they land here too. The
gateway is not mocked: tests feed events to ``client._connection.parse_*`` directly, built with
the payload helpers below (the shapes follow discord.py's ``types/`` and Discord's docs).

    api = await DiscordAPI().start()
    ... client.http calls ...
    await api.wait_for(lambda: api.calls_to("POST", "/channels/{id}/messages"))
    await api.stop()

Answers: messages, edits, threads, typing, interaction callbacks, follow-up messages and edits of
the original response, command registration, and the login calls (``/users/@me``, the
application). ``api.fail(method, route, status)`` makes the next matching call fail.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_ID = 1_100_000_000_000_000_001
APP_ID = 1_100_000_000_000_000_002
GUILD_ID = 1_100_000_000_000_000_003
TIMESTAMP = "2026-01-01T00:00:00.000000+00:00"
_ids = itertools.count(1_200_000_000_000_000_000)


def snowflake() -> int:
    return next(_ids)


@dataclass
class Call:
    method: str
    route: str  # the path with ids replaced by {id}, {token}, e.g. POST /channels/{id}/messages
    path: str
    ids: list[str]
    json: Any
    query: dict[str, str]
    at: float = field(default_factory=time.monotonic)


# ----- payloads ------------------------------------------------------------------------------

def user_payload(user_id: int, name: str = "someone", *, bot: bool = False) -> dict:
    return {"id": str(user_id), "username": name, "global_name": name, "discriminator": "0",
            "avatar": None, "bot": bot}


BOT_USER = user_payload(BOT_ID, "supportbot", bot=True)


def member_payload(user: dict | None = None, roles: tuple[int, ...] = (), permissions: int | None = None) -> dict:
    member = {"roles": [str(r) for r in roles], "joined_at": TIMESTAMP, "deaf": False, "mute": False,
              "flags": 0, "nick": None, "avatar": None, "pending": False}
    if user is not None:
        member["user"] = user
    if permissions is not None:
        member["permissions"] = str(permissions)
    return member


def role_payload(role_id: int, name: str, permissions: int = 0) -> dict:
    return {"id": str(role_id), "name": name, "permissions": str(permissions), "position": 1, "color": 0,
            "hoist": False, "managed": False, "mentionable": True, "flags": 0}


def channel_payload(channel_id: int, name: str, *, type: int = 0, guild_id: int = GUILD_ID) -> dict:
    return {"id": str(channel_id), "type": type, "name": name, "guild_id": str(guild_id), "position": 0,
            "permission_overwrites": [], "nsfw": False, "parent_id": None, "topic": None,
            "rate_limit_per_user": 0, "last_message_id": None, "flags": 0, "available_tags": [],
            "default_reaction_emoji": None}


def thread_payload(thread_id: int, parent_id: int, name: str, *, owner_id: int = BOT_ID,
                   guild_id: int = GUILD_ID) -> dict:
    return {"id": str(thread_id), "type": 11, "name": name, "guild_id": str(guild_id),
            "parent_id": str(parent_id), "owner_id": str(owner_id), "last_message_id": None,
            "rate_limit_per_user": 0, "message_count": 0, "member_count": 1, "flags": 0,
            "thread_metadata": {"archived": False, "auto_archive_duration": 1440,
                                "archive_timestamp": TIMESTAMP, "locked": False}}


def guild_payload(*, channels: list[dict], roles: list[dict] = (), threads: list[dict] = (),
                  guild_id: int = GUILD_ID) -> dict:
    everyone = role_payload(guild_id, "@everyone", permissions=0)
    everyone["position"] = 0
    return {"id": str(guild_id), "name": "Harbor & Pine", "owner_id": "1", "icon": None, "splash": None,
            "discovery_splash": None, "afk_channel_id": None, "afk_timeout": 300, "verification_level": 0,
            "default_message_notifications": 0, "explicit_content_filter": 0, "mfa_level": 0,
            "features": [], "roles": [everyone, *roles], "emojis": [], "stickers": [],
            "channels": channels, "threads": list(threads), "members": [], "voice_states": [],
            "presences": [], "member_count": 3, "large": False, "unavailable": False,
            "joined_at": TIMESTAMP, "premium_tier": 0, "preferred_locale": "en-US", "nsfw_level": 0,
            "system_channel_flags": 0, "application_id": None}


def message_payload(message_id: int, channel_id: int, content: str, *, author: dict,
                    guild_id: int | None = GUILD_ID, member: dict | None = None,
                    mentions: list[dict] = (), components: list = (), flags: int = 0) -> dict:
    data = {"id": str(message_id), "channel_id": str(channel_id), "author": author, "content": content,
            "timestamp": TIMESTAMP, "edited_timestamp": None, "tts": False, "mention_everyone": False,
            "mentions": list(mentions), "mention_roles": [], "attachments": [], "embeds": [],
            "pinned": False, "type": 0, "components": list(components), "flags": flags}
    if guild_id is not None:
        data["guild_id"] = str(guild_id)
        data["member"] = member or member_payload()
    return data


def interaction_payload(kind: int, data: dict, *, user: dict, channel: dict, roles: tuple[int, ...] = (),
                        permissions: int = 0, message: dict | None = None,
                        guild_id: int | None = GUILD_ID) -> dict:
    """kind: 2 = slash command, 3 = button press."""
    payload = {"id": str(snowflake()), "application_id": str(APP_ID), "type": kind, "data": data,
               "channel_id": channel["id"], "channel": channel, "token": f"tok{snowflake()}",
               "version": 1, "locale": "en-US", "app_permissions": str((1 << 50) - 1),
               "attachment_size_limit": 10 * 1024 * 1024,
               "entitlements": [], "context": 0 if guild_id else 1,
               "authorizing_integration_owners": {"0": str(guild_id or 0)}}
    if guild_id is not None:
        payload["guild_id"] = str(guild_id)
        payload["guild_locale"] = "en-US"
        payload["member"] = member_payload(user, roles, permissions)
    else:
        payload["user"] = user
    if message is not None:
        payload["message"] = message
    return payload


def button_press(custom_id: str, message: dict, *, user: dict, channel: dict, **kwargs: Any) -> dict:
    return interaction_payload(3, {"custom_id": custom_id, "component_type": 2}, user=user, channel=channel,
                               message=message, **kwargs)


def slash_command(name: str, options: dict[str, Any], *, user: dict, channel: dict, **kwargs: Any) -> dict:
    types = {str: 3, bool: 5, int: 4}
    data = {"id": str(snowflake()), "name": name, "type": 1,
            "options": [{"name": k, "type": types[type(v)], "value": v} for k, v in options.items()]}
    return interaction_payload(2, data, user=user, channel=channel, **kwargs)


def custom_ids(message: dict) -> list[str]:
    """The custom_ids of a message's buttons, in order."""
    return [c["custom_id"] for row in message.get("components") or [] for c in row.get("components", [])
            if "custom_id" in c]


# ----- the server ----------------------------------------------------------------------------

_ID = re.compile(r"^(\d+|@me|@original|tok\d+)$")


def _route_of(path: str) -> tuple[str, list[str]]:
    parts, ids = [], []
    for part in path.strip("/").split("/"):
        if _ID.match(part) and part not in ("@me", "@original"):
            parts.append("{token}" if part.startswith("tok") else "{id}")
            ids.append(part)
        else:
            parts.append(part)
    return "/" + "/".join(parts), ids


class DiscordAPI:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.messages: dict[str, dict] = {}  # every message the bot posted or edited, by id
        self.channels: dict[str, dict] = {}  # threads the bot opened, for GET /channels/{id}
        self.originals: dict[str, dict] = {}  # an interaction's original response, by its token
        self.interaction_messages: dict[str, list[dict]] = {}  # follow-up messages, by token
        self._failures: list[tuple[str, str, int]] = []
        self._runner: web.AppRunner | None = None
        self.base = ""

    async def start(self) -> DiscordAPI:
        app = web.Application()
        app.router.add_route("*", "/api/v10/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # port 0: a free one
        self.base = f"http://127.0.0.1:{port}/api/v10"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def fail(self, method: str, route: str, status: int) -> None:
        """The next call to `method route` answers with this HTTP status."""
        self._failures.append((method, route, status))

    # ----- reading the record --------------------------------------------------------------

    def calls_to(self, method: str, route: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.route == route]

    def posted(self, channel_id: int | str) -> list[dict]:
        """Messages the bot posted in a channel, as they are now (edits applied)."""
        return [m for m in self.messages.values() if m["channel_id"] == str(channel_id)]

    async def wait_for(self, condition: Callable[[], Any], timeout: float = 20.0) -> Any:
        """Poll until condition() is truthy; its value is returned. Generous: never a speed test."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if result := condition():
                return result
            await asyncio.sleep(0.02)
        routes = "\n".join(f"  {c.method} {c.route} {str(c.json)[:160]}" for c in self.calls)
        raise AssertionError(f"condition not met within {timeout} s; calls so far:\n{routes}")

    # ----- answering -----------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        route, ids = _route_of(path)
        body = await request.json() if request.can_read_body and request.content_type == "application/json" else None
        call = Call(request.method, route, path, ids, body, dict(request.query))
        self.calls.append(call)
        for failure in self._failures:
            if failure[:2] == (request.method, route):
                self._failures.remove(failure)
                return _json({"message": "Mock failure", "code": 0}, status=failure[2])
        handler = _HANDLERS.get((request.method, route))
        if handler is None:
            return _json({"message": f"404: Not Found ({request.method} {route})", "code": 0}, status=404)
        result = handler(self, call)
        return web.Response(status=204) if result is None else _json(result)

    def _new_message(self, channel_id: str, body: dict) -> dict:
        message = message_payload(snowflake(), int(channel_id), "", author=BOT_USER, guild_id=None)
        self.messages[message["id"]] = _apply(message, body)
        return message

    # Each takes the recorded call and returns a JSON body (None: 204 No Content).

    def _create_message(self, call: Call) -> dict:
        return self._new_message(call.ids[0], call.json or {})

    def _edit_message(self, call: Call) -> dict:
        channel_id, message_id = call.ids
        message = self.messages.get(message_id) or message_payload(
            int(message_id), int(channel_id), "", author=BOT_USER, guild_id=None)
        self.messages[message_id] = _apply(message, call.json or {}, edited=True)
        return message

    def _start_thread(self, call: Call) -> dict:
        channel_id, message_id = call.ids
        thread = thread_payload(int(message_id), int(channel_id), (call.json or {}).get("name", "thread"))
        self.channels[message_id] = thread
        return thread

    def _get_channel(self, call: Call) -> dict | None:
        return self.channels.get(call.ids[0]) or channel_payload(int(call.ids[0]), "channel")

    def _interaction_callback(self, call: Call) -> dict:
        body = call.json or {}
        kind = body.get("type")
        response = {"interaction": {"id": call.ids[0], "type": 2,
                                    "response_message_loading": kind == 5,
                                    "response_message_ephemeral": bool((body.get("data") or {}).get("flags", 0) & 64)}}
        if kind in (4, 7):  # a message sent or updated: give it back as the resource
            message = self._new_message("0", body.get("data") or {})
            response["resource"] = {"type": kind, "message": message}
        return response

    def _followup(self, call: Call) -> dict:
        message = self._new_message("0", call.json or {})
        self.interaction_messages.setdefault(call.ids[1], []).append(message)
        return message

    def _edit_webhook_message(self, call: Call) -> dict:
        token, which = call.ids[1], call.path.rsplit("/", 1)[1]
        if which == "@original":
            message = self.originals.setdefault(token, message_payload(
                snowflake(), 0, "", author=BOT_USER, guild_id=None))
        else:
            message = self.messages[which]
        return _apply(message, call.json or {}, edited=True)

    def _register_commands(self, call: Call) -> list:
        return [{**c, "id": str(snowflake()), "application_id": str(APP_ID), "version": "1",
                 "default_member_permissions": c.get("default_member_permissions"), "type": c.get("type", 1)}
                for c in call.json or []]

    def _me(self, call: Call) -> dict:
        return BOT_USER

    def _application(self, call: Call) -> dict:
        return {"id": str(APP_ID), "name": "supportbot", "icon": None, "description": "", "summary": "",
                "bot_public": True, "bot_require_code_grant": False, "verify_key": "0" * 64,
                "owner": user_payload(1, "owner"), "flags": 0, "rpc_origins": [], "team": None,
                "interactions_endpoint_url": None, "bot": BOT_USER}


def _json(data: Any, status: int = 200) -> web.Response:
    # discord.py decodes a body only when the content type is exactly application/json.
    return web.Response(body=json.dumps(data).encode(), status=status,
                        headers={"Content-Type": "application/json"})


def _apply(message: dict, body: dict, *, edited: bool = False) -> dict:
    for key in ("content", "components", "embeds", "flags"):
        if key in body:
            message[key] = body[key] if body[key] is not None else ([] if key != "content" else "")
    if edited:
        message["edited_timestamp"] = TIMESTAMP
    return message


_HANDLERS: dict[tuple[str, str], Callable[[DiscordAPI, Call], Any]] = {
    ("GET", "/users/@me"): DiscordAPI._me,
    ("GET", "/oauth2/applications/@me"): DiscordAPI._application,
    ("PUT", "/applications/{id}/commands"): DiscordAPI._register_commands,
    ("PUT", "/applications/{id}/guilds/{id}/commands"): DiscordAPI._register_commands,
    ("GET", "/channels/{id}"): DiscordAPI._get_channel,
    ("POST", "/channels/{id}/messages"): DiscordAPI._create_message,
    ("PATCH", "/channels/{id}/messages/{id}"): DiscordAPI._edit_message,
    ("POST", "/channels/{id}/messages/{id}/threads"): DiscordAPI._start_thread,
    ("POST", "/channels/{id}/typing"): lambda api, call: None,
    ("POST", "/interactions/{id}/{token}/callback"): DiscordAPI._interaction_callback,
    ("POST", "/webhooks/{id}/{token}"): DiscordAPI._followup,
    ("PATCH", "/webhooks/{id}/{token}/messages/@original"): DiscordAPI._edit_webhook_message,
    ("PATCH", "/webhooks/{id}/{token}/messages/{id}"): DiscordAPI._edit_webhook_message,
}
