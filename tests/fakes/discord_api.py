"""A local Discord REST API for tests: answers like Discord, refuses what Discord refuses.

Point discord.py at it by setting ``discord.http.Route.BASE`` to ``api.base``; interaction
callbacks and follow-up webhooks go through the same Route class, so they land here too. Most
tests skip the gateway: they feed events to ``client._connection.parse_*``, built with the
payload helpers in tests/fakes/discord_payloads.py, and tell the fake what the gateway showed
(``add_channel``, ``add_user_message``, ``interaction``) so it knows what exists, as Discord does.

The gateway is served too, minimally (tests/fakes/discord_gateway.py), for tests that run the
adapter as a process: point discord.py's DEFAULT_GATEWAY at ``api.gateway_url``.

Strict as Discord is (tests/fakes/discord_rules.py holds the rules, derived from Discord's specs):
unknown routes, a missing bot token, unknown channels and messages, editing someone else's message,
message bodies beyond the documented limits (2,000 characters, 5 action rows of 5 buttons, unique
custom_ids of at most 100 characters, labels of 80), thread names and archive durations, invalid
interaction callback types, a second callback to one interaction, a callback after 3 seconds,
follow-ups before the first callback or after the token's 15 minutes. Time in the fake passes
only with ``advance()``, so a slow machine never fails a test; the deadlines are tested by
advancing it.

    api = await DiscordAPI().start()
    ... client.http calls ...
    await api.wait_for(lambda: api.calls_to("POST", "/channels/{id}/messages"))
    await api.stop()
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes import discord_rules as rules
from tests.fakes.discord_gateway import Gateway
from tests.fakes.discord_payloads import (
    APP_ID,
    BOT_ID,
    BOT_USER,
    TIMESTAMP,
    message_payload,
    snowflake,
    thread_payload,
    user_payload,
)
from tests.fakes.discord_rules import Refusal, not_found

BOT_TOKEN = "test-token"


@dataclass
class Call:
    method: str
    route: str  # the path with ids replaced by {id}, {token}, e.g. POST /channels/{id}/messages
    path: str
    ids: list[str]
    json: Any
    query: dict[str, str]
    at: float = field(default_factory=time.monotonic)
    status: int = 200
    answer: Any = None  # the JSON the fake sent back
    scripted: bool = False  # a failure the test asked for with fail()


@dataclass
class Interaction:
    id: str
    token: str
    type: int  # 2 slash command, 3 component
    created: float  # fake time
    message: dict | None = None  # the message a component was on
    response: int | None = None  # the callback type, once acknowledged


_ID = re.compile(r"^(\d+|tok\w+)$")


def _route_of(path: str) -> tuple[str, list[str]]:
    parts, ids = [], []
    for part in path.strip("/").split("/"):
        if _ID.match(part):
            parts.append("{token}" if part.startswith("tok") else "{id}")
            ids.append(part)
        else:
            parts.append(part)
    return "/" + "/".join(parts), ids


class DiscordAPI:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.messages: dict[str, dict] = {}  # every message that exists, by id (the bot's and people's)
        self.channels: dict[str, dict] = {}  # channels, threads and DMs Discord knows, by id
        self.originals: dict[str, dict] = {}  # an interaction's original response, by its token
        self.interaction_messages: dict[str, list[dict]] = {}  # follow-up messages, by token
        self.interactions: dict[str, Interaction] = {}  # by token
        self.now = 0.0  # fake time, in seconds: moves only with advance()
        self.gateway = Gateway(BOT_TOKEN, BOT_USER, str(APP_ID))
        self._failures: list[tuple[str, str, int]] = []
        self._runner: web.AppRunner | None = None
        self.base = ""
        self.gateway_url = ""

    async def start(self, port: int = 0) -> DiscordAPI:
        app = web.Application()
        app.router.add_get("/gateway", self.gateway.handle)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # port 0: a free one
        self.base = f"http://127.0.0.1:{port}/api/v10"
        self.gateway_url = f"ws://127.0.0.1:{port}/gateway"
        return self

    async def stop(self) -> None:
        for socket in list(self.gateway.sockets):
            await socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # ----- what exists (as the gateway showed it to the bot) ---------------------------------

    def add_channel(self, payload: dict) -> None:
        self.channels[payload["id"]] = payload

    def add_dm(self, channel_id: int | str, recipient: dict) -> None:
        self.channels[str(channel_id)] = {"id": str(channel_id), "type": 1, "recipients": [recipient],
                                          "last_message_id": None}

    def add_user_message(self, payload: dict) -> None:
        self.messages[payload["id"]] = payload

    def interaction(self, payload: dict) -> None:
        """An INTERACTION_CREATE the gateway delivered now: its 3 s and 15 min start here."""
        self.interactions[payload["token"]] = Interaction(payload["id"], payload["token"], payload["type"],
                                                          self.now, payload.get("message"))

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def fail(self, method: str, route: str, status: int) -> None:
        """The next call to `method route` answers with this HTTP status."""
        self._failures.append((method, route, status))

    # ----- reading the record --------------------------------------------------------------

    def calls_to(self, method: str, route: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.route == route]

    def rejected(self) -> list[Call]:
        """Calls Discord would have refused (not counting failures a test asked for)."""
        return [c for c in self.calls if c.status >= 400 and not c.scripted]

    def posted(self, channel_id: int | str) -> list[dict]:
        """Messages the bot posted in a channel, as they are now (edits applied)."""
        return [m for m in self.messages.values() if m["channel_id"] == str(channel_id)
                and m["author"]["id"] == str(BOT_ID)]

    async def wait_for(self, condition: Callable[[], Any], timeout: float = 20.0) -> Any:
        """Poll until condition() is truthy; its value is returned. Generous: never a speed test."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if result := condition():
                return result
            await asyncio.sleep(0.02)
        routes = "\n".join(f"  {c.method} {c.route} {c.status} {str(c.json)[:160]}" for c in self.calls)
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
                call.status, call.scripted = failure[2], True
                return _json({"message": "Mock failure", "code": 0}, status=failure[2])
        try:
            result = self._answer(request, call)
        except Refusal as refusal:
            call.status, call.answer = refusal.status, refusal.body
            return _json(refusal.body, status=refusal.status)
        call.answer = result
        return web.Response(status=204) if result is None else _json(result)

    def _answer(self, request: web.Request, call: Call) -> Any:
        key = f"{call.method} {call.route}"
        if not rules.known_route(key):
            raise Refusal(404, 0, "404: Not Found")
        handler = _HANDLERS.get(key)
        if handler is None:
            raise Refusal(501, 0, f"the fake does not implement {key}")
        webhook = call.route.startswith(("/webhooks/", "/interactions/"))
        if not webhook and request.headers.get("Authorization") != f"Bot {BOT_TOKEN}":
            raise Refusal(401, 0, "401: Unauthorized")
        return handler(self, call)

    def _channel(self, channel_id: str) -> dict:
        if channel_id not in self.channels:
            raise not_found(10003, "Unknown Channel")
        return self.channels[channel_id]

    def _new_message(self, channel_id: str, body: dict) -> dict:
        message = message_payload(snowflake(), int(channel_id), "", author=BOT_USER, guild_id=None)
        self.messages[message["id"]] = _apply(message, body)
        return message

    def _interaction(self, token: str, *, callback: bool = False) -> Interaction:
        found = self.interactions.get(token)
        if found is None or (callback and self.now - found.created > rules.fact(
                "interaction.initial_response_seconds")):
            raise not_found(10062, "Unknown interaction")
        if not callback:
            if found.response is None:
                raise not_found(10015, "Unknown Webhook")
            if self.now - found.created > 60 * rules.fact("interaction.token_minutes"):
                raise Refusal(401, 50027, "Invalid Webhook Token")
        return found

    # Each takes the recorded call and returns a JSON body (None: 204 No Content).

    def _create_message(self, call: Call) -> dict:
        self._channel(call.ids[0])
        rules.check_message(call.json or {}, creating=True)
        return self._new_message(call.ids[0], call.json or {})

    def _edit_message(self, call: Call) -> dict:
        channel_id, message_id = call.ids
        self._channel(channel_id)
        message = self.messages.get(message_id)
        if message is None or message["channel_id"] != channel_id:
            raise not_found(10008, "Unknown Message")
        if message["author"]["id"] != str(BOT_ID):
            raise Refusal(403, 50005, "Cannot edit a message authored by another user")
        rules.check_message(call.json or {}, creating=False)
        return _apply(message, call.json or {}, edited=True)

    def _start_thread(self, call: Call) -> dict:
        channel_id, message_id = call.ids
        self._channel(channel_id)
        if message_id not in self.messages:
            raise not_found(10008, "Unknown Message")
        if message_id in self.channels:
            raise Refusal(400, 160004, "A thread has already been created for this message")
        rules.check_thread(call.json or {})
        thread = thread_payload(int(message_id), int(channel_id), call.json["name"])
        thread["thread_metadata"]["auto_archive_duration"] = call.json.get("auto_archive_duration") or 4320
        self.channels[message_id] = thread
        return thread

    def _get_channel(self, call: Call) -> dict:
        return self._channel(call.ids[0])

    def _typing(self, call: Call) -> None:
        self._channel(call.ids[0])

    def _open_dm(self, call: Call) -> dict:
        recipient = str((call.json or {}).get("recipient_id", ""))
        if not rules.SNOWFLAKE.match(recipient):
            errors = rules.FormErrors()
            errors.add(("recipient_id",), "NUMBER_TYPE_COERCE", f"Value \"{recipient}\" is not snowflake.")
            errors.raise_if_any()
        existing = next((c for c in self.channels.values() if c.get("type") == 1
                         and c["recipients"][0]["id"] == recipient), None)
        if existing is None:
            existing = {"id": str(snowflake()), "type": 1, "last_message_id": None,
                        "recipients": [user_payload(int(recipient), "someone")]}
            self.channels[existing["id"]] = existing
        return existing

    def _interaction_callback(self, call: Call) -> dict:
        interaction_id, token = call.ids
        found = self._interaction(token, callback=True)
        if found.id != interaction_id:
            raise not_found(10062, "Unknown interaction")
        if found.response is not None:
            raise Refusal(400, 40060, "Interaction has already been acknowledged.")
        body = call.json or {}
        kind = rules.check_callback(body, found.type)
        found.response = kind
        data = body.get("data") or {}
        response = {"interaction": {"id": found.id, "type": found.type, "response_message_loading": kind == 5,
                                    "response_message_ephemeral": bool(data.get("flags", 0) & 64)}}
        if kind in (4, 5):
            message = self._new_message("0", data)
            self.originals[token] = message
            if kind == 4:
                response["resource"] = {"type": kind, "message": message}
        elif kind in (6, 7) and found.message is not None:
            message = self.messages.get(found.message["id"], found.message)
            self.originals[token] = message
            if kind == 7:
                rules.check_message(data, creating=False)
                response["resource"] = {"type": kind, "message": _apply(message, data, edited=True)}
        return response

    def _followup(self, call: Call) -> dict:
        token = call.ids[1]
        self._interaction(token)
        rules.check_message(call.json or {}, creating=True)
        message = self._new_message("0", call.json or {})
        self.interaction_messages.setdefault(token, []).append(message)
        return message

    def _edit_webhook_message(self, call: Call) -> dict:
        token, which = call.ids[1], call.path.rsplit("/", 1)[1]
        self._interaction(token)
        message = self.originals.get(token) if which == "@original" else self.messages.get(which)
        if message is None:
            raise not_found(10008, "Unknown Message")
        rules.check_message(call.json or {}, creating=False)
        return _apply(message, call.json or {}, edited=True)

    def _register_commands(self, call: Call) -> list:
        rules.check_commands(call.json)
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


_HANDLERS: dict[str, Callable[[DiscordAPI, Call], Any]] = {
    "GET /users/@me": DiscordAPI._me,
    "GET /oauth2/applications/@me": DiscordAPI._application,
    "PUT /applications/{id}/commands": DiscordAPI._register_commands,
    "PUT /applications/{id}/guilds/{id}/commands": DiscordAPI._register_commands,
    "GET /channels/{id}": DiscordAPI._get_channel,
    "POST /channels/{id}/messages": DiscordAPI._create_message,
    "PATCH /channels/{id}/messages/{id}": DiscordAPI._edit_message,
    "POST /channels/{id}/messages/{id}/threads": DiscordAPI._start_thread,
    "POST /channels/{id}/typing": DiscordAPI._typing,
    "POST /users/@me/channels": DiscordAPI._open_dm,
    "POST /interactions/{id}/{token}/callback": DiscordAPI._interaction_callback,
    "POST /webhooks/{id}/{token}": DiscordAPI._followup,
    "PATCH /webhooks/{id}/{token}/messages/@original": DiscordAPI._edit_webhook_message,
    "PATCH /webhooks/{id}/{token}/messages/{id}": DiscordAPI._edit_webhook_message,
}
