"""The Discord adapter driven through discord.py against tests/fakes/discord_api.py.

A Harness is one bot process: a SupportClient logged in against the mock REST API, with the test
server in its cache as the gateway's GUILD_CREATE would put it, and a SupportBot on the real
Redis under a key prefix of the test's own. Two harnesses on one prefix are a restart.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import discord
import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr

from adapters.discord.client import SupportClient
from bot.settings import DiscordSettings
from tests.fakes.discord_api import BOT_TOKEN, DiscordAPI
from tests.fakes.discord_payloads import (
    BOT_ID,
    BOT_USER,
    GUILD_ID,
    button_press,
    channel_payload,
    guild_payload,
    member_payload,
    message_payload,
    role_payload,
    slash_command,
    snowflake,
    thread_payload,
    user_payload,
)
from tests.fakes.anthropic_server import FakeAnthropic
from tests.helpers import build_test_bot

SUPPORT_CHANNEL = 1_300_000_000_000_000_001
AUTO_CHANNEL = 1_300_000_000_000_000_002
FORUM_CHANNEL = 1_300_000_000_000_000_003
STAFF_CHANNEL = 1_300_000_000_000_000_004
ESCALATION_CHANNEL = 1_300_000_000_000_000_005
STAFF_ROLE = 1_300_000_000_000_000_011
ADMIN_ROLE = 1_300_000_000_000_000_012
SUPPORT_ROLE = 1_300_000_000_000_000_013
CUSTOMER = user_payload(1_400_000_000_000_000_001, "casey")
AGENT = user_payload(1_400_000_000_000_000_002, "avery")
MANAGE_GUILD = 1 << 5


def discord_settings(**overrides: Any) -> DiscordSettings:
    values = dict(
        auto_answer_channel_ids=[AUTO_CHANNEL], forum_channel_ids=[FORUM_CHANNEL],
        staff_channel_ids=[STAFF_CHANNEL], staff_role_ids=[STAFF_ROLE], admin_role_ids=[ADMIN_ROLE],
        escalation_channel_id=ESCALATION_CHANNEL, support_role_id=SUPPORT_ROLE, edit_interval_s=0.3,
        admin_permission="manage_guild",
    )
    return DiscordSettings(**{**values, **overrides})


def channels() -> list[dict]:
    return [channel_payload(SUPPORT_CHANNEL, "support"), channel_payload(AUTO_CHANNEL, "ask-here"),
            channel_payload(FORUM_CHANNEL, "help-forum", type=15),
            channel_payload(STAFF_CHANNEL, "staff-questions"),
            channel_payload(ESCALATION_CHANNEL, "support-escalations")]


class Harness:
    def __init__(self, api: DiscordAPI, client: SupportClient) -> None:
        self.api = api
        self.client = client
        self.support = client.support

    @property
    def state(self):
        return self.client._connection

    def message(self, content: str, *, channel: int = SUPPORT_CHANNEL, author: dict = CUSTOMER,
                mention: bool = True, roles: tuple[int, ...] = (), dm: bool = False,
                message_id: int | None = None) -> dict:
        """A MESSAGE_CREATE from the gateway; returns its payload."""
        text = f"<@{BOT_ID}> {content}" if mention else content
        payload = message_payload(message_id or snowflake(), channel, text, author=author,
                                  guild_id=None if dm else GUILD_ID,
                                  member=member_payload(roles=roles),
                                  mentions=[BOT_USER] if mention else [])
        if dm:
            self.api.add_dm(channel, author)
        self.api.add_user_message(payload)  # it exists in Discord before the gateway tells the bot
        self.state.parse_message_create(payload)
        return payload

    def thread_created(self, thread_id: int | str, parent: int, *, owner: int = BOT_ID, name: str = "t") -> dict:
        """THREAD_CREATE, as the gateway sends when a thread or forum post is opened."""
        payload = {**thread_payload(int(thread_id), parent, name, owner_id=owner), "newly_created": True}
        self.api.channels.setdefault(str(thread_id), payload)
        self.state.parse_thread_create(payload)
        return payload

    def press(self, custom_id: str, message: dict, *, channel: dict, user: dict = CUSTOMER, **kwargs) -> dict:
        payload = button_press(custom_id, message, user=user, channel=channel, **kwargs)
        self.api.interaction(payload)
        self.state.parse_interaction_create(payload)
        return payload

    def command(self, name: str, options: dict | None = None, *, user: dict = CUSTOMER,
                channel: dict | None = None, **kwargs) -> dict:
        payload = slash_command(name, options or {}, user=user,
                                channel=channel or channel_payload(SUPPORT_CHANNEL, "support"), **kwargs)
        self.api.interaction(payload)
        self.state.parse_interaction_create(payload)
        return payload

    async def close(self) -> None:
        await settle()
        await self.client.close()
        await self.support.close()


async def settle(timeout: float = 30.0) -> None:
    """Wait until every event, button and command handler discord.py started has finished, so a
    test can assert that something did NOT happen."""
    names = ("discord", "CommandTree")
    current = asyncio.current_task()
    while True:
        running = [t for t in asyncio.all_tasks() if t is not current and not t.done()
                   and t.get_name().startswith(names)]
        if not running:
            return
        await asyncio.wait(running, timeout=timeout)


@pytest.fixture
async def api(monkeypatch):
    server = await DiscordAPI().start()
    for channel in channels():
        server.add_channel(channel)
    # Every REST call, webhooks and interaction callbacks included, is built on Route.BASE.
    monkeypatch.setattr(discord.http.Route, "BASE", server.base)
    yield server
    await server.stop()
    refused = [(c.method, c.route, c.status, c.answer) for c in server.rejected()]
    assert not refused, f"Discord would have refused: {refused}"


@pytest.fixture
async def redis_prefix(redis_url):
    prefix = f"test-discord-{uuid.uuid4().hex}:"
    yield prefix
    client = aioredis.Redis.from_url(redis_url)
    keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture
async def start_client(api, sample_settings, embeddings, redis_prefix, redis_url):
    """start_client(answerer=None, settings=None, **discord_overrides) -> a logged-in Harness."""
    started: list[Harness] = []

    async def start(answerer=None, settings=None, **overrides: Any) -> Harness:
        base = settings or sample_settings
        settings = base.model_copy(update={
            "redis_url": SecretStr(redis_url),
            "redis": base.redis.model_copy(update={"key_prefix": redis_prefix}),
            "discord": discord_settings(**overrides),
        })
        client = SupportClient(build_test_bot(settings, embeddings, answerer), settings.discord)
        await client.login(BOT_TOKEN)  # GET /users/@me, the application, setup_hook
        client._connection.parse_guild_create(guild_payload(
            channels=channels(),
            roles=[role_payload(STAFF_ROLE, "staff"), role_payload(ADMIN_ROLE, "support-admin"),
                   role_payload(SUPPORT_ROLE, "support-team")]))
        harness = Harness(api, client)
        started.append(harness)
        return harness

    yield start
    for harness in started:
        if not harness.client.is_closed():
            await harness.close()


@pytest.fixture
def claude():
    """The local Anthropic Messages API fake."""
    with FakeAnthropic() as server:
        yield server
