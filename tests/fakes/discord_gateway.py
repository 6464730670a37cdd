"""A minimal Discord gateway for process-level tests: HELLO, IDENTIFY, READY, heartbeats, dispatch.

Served by the DiscordAPI fake on `/gateway`; a discord.py client whose DEFAULT_GATEWAY points here
logs in, becomes ready and receives whatever events a test dispatches, so `python -m
adapters.discord` can run as a real process against the fakes. As Discord does, it closes the
connection with 4004 for a token it does not know and 4014 for privileged intents the
application was not granted (opcodes and close codes: Discord's gateway documentation).
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import WSMsgType, web

HELLO, IDENTIFY, HEARTBEAT, HEARTBEAT_ACK, DISPATCH = 10, 2, 1, 11, 0
AUTHENTICATION_FAILED, DISALLOWED_INTENTS = 4004, 4014
MESSAGE_CONTENT_INTENT = 1 << 15


class Gateway:
    def __init__(self, token: str, bot_user: dict, application_id: str) -> None:
        self.token = token
        self.bot_user = bot_user
        self.application_id = application_id
        self.message_content_allowed = True  # switched on in the Developer Portal
        self.sockets: list[web.WebSocketResponse] = []
        self.identified: list[dict] = []
        self.sequence = 0

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await socket.send_str(json.dumps({"op": HELLO, "d": {"heartbeat_interval": 41250}}))
        async for message in socket:
            if message.type != WSMsgType.TEXT:
                break
            payload = json.loads(message.data)
            if payload["op"] == HEARTBEAT:
                await socket.send_str(json.dumps({"op": HEARTBEAT_ACK}))
            elif payload["op"] == IDENTIFY:
                await self._identify(socket, payload["d"], str(request.url.with_query(None)))
        if socket in self.sockets:
            self.sockets.remove(socket)
        return socket

    async def _identify(self, socket: web.WebSocketResponse, data: dict, url: str) -> None:
        if data.get("token", "").removeprefix("Bot ") != self.token:
            await socket.close(code=AUTHENTICATION_FAILED, message=b"Authentication failed.")
            return
        if data.get("intents", 0) & MESSAGE_CONTENT_INTENT and not self.message_content_allowed:
            await socket.close(code=DISALLOWED_INTENTS, message=b"Disallowed intent(s).")
            return
        self.identified.append(data)
        self.sockets.append(socket)
        await self._send(socket, "READY", {"v": 10, "user": self.bot_user, "guilds": [], "session_id": "fake-session",
                                           "resume_gateway_url": url, "private_channels": [],
                                           "application": {"id": self.application_id, "flags": 0}})

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send an event (MESSAGE_CREATE, ...) to every identified connection."""
        for socket in list(self.sockets):
            await self._send(socket, event, data)

    async def _send(self, socket: web.WebSocketResponse, event: str, data: dict[str, Any]) -> None:
        self.sequence += 1
        await socket.send_str(json.dumps({"op": DISPATCH, "t": event, "s": self.sequence, "d": data}))
