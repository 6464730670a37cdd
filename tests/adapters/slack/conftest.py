"""Fixtures: the mock Slack Web API, the session's real Redis under a random key prefix, the bolt app."""

from __future__ import annotations

import uuid

import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr

from adapters.slack.app import build_app
from bot.answering.generation import ClaudeAnswerer
from bot.settings import SlackSettings
from tests.adapters.slack.harness import ADMIN, AGENT, AUTO, DM, PUBLIC, SIGNING_SECRET, STAFF, Harness
from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.slack_api import FakeSlack
from tests.helpers import build_test_bot



@pytest.fixture(autouse=True)
def _no_slack_tokens(monkeypatch):
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)


WORKSPACE = {PUBLIC: "public", STAFF: "public", AUTO: "public", "CSHARED": "public", DM: "im",
             "D" + ADMIN[1:]: "im"}


@pytest.fixture
def fake_slack():
    with FakeSlack(channels=WORKSPACE) as slack:
        yield slack
    assert not slack.rejected(), f"Slack would have refused: {[(c.method, c.result) for c in slack.rejected()]}"


def slack_settings(fake: FakeSlack, **overrides) -> SlackSettings:
    values = dict(bot_token="xoxb-test", signing_secret=SIGNING_SECRET, mode="http", api_base_url=fake.base_url,
                  staff_channels=[STAFF], escalation_channel=STAFF, support_group="S0SUPPORT",
                  admin_users=[ADMIN], staff_users=[AGENT], auto_answer_channels=[AUTO])
    return SlackSettings(**{**values, **overrides})


@pytest.fixture
async def redis_prefix(redis_url):
    """A key prefix of our own on the session's Redis, removed afterwards."""
    prefix = f"test-slack-{uuid.uuid4().hex[:12]}:"
    yield prefix
    client = aioredis.Redis.from_url(redis_url)
    keys = [key async for key in client.scan_iter(match=prefix + "*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture
def bot_settings(sample_settings, fake_slack, redis_prefix, redis_url):
    return sample_settings.model_copy(update={
        "redis_url": SecretStr(redis_url),
        "redis": sample_settings.redis.model_copy(update={"key_prefix": redis_prefix}),
        "rate_limit": sample_settings.rate_limit.model_copy(update={"enabled": False}),
        "slack": slack_settings(fake_slack),
    })


async def make_harness(settings, embeddings, fake_slack, *, answerer=None, process_before_response=True):
    bot = build_test_bot(settings, embeddings, answerer=answerer)
    app, rt = build_app(bot, settings.slack, process_before_response=process_before_response)
    return Harness(app=app, rt=rt, bot=bot, slack=fake_slack)


@pytest.fixture
async def harness(bot_settings, embeddings, fake_slack):
    h = await make_harness(bot_settings, embeddings, fake_slack)
    yield h
    await h.rt.drain()
    await h.bot.close()


@pytest.fixture
async def assistant_harness(bot_settings, embeddings, fake_slack):
    """An app still on the Assistant messaging experience (assistant_view)."""
    fake_slack.experience = "assistant"
    settings = bot_settings.model_copy(update={"slack": bot_settings.slack.model_copy(update={"experience": "assistant"})})
    h = await make_harness(settings, embeddings, fake_slack)
    yield h
    await h.rt.drain()
    await h.bot.close()


@pytest.fixture
def fake_claude():
    with FakeAnthropic() as server:
        yield server


@pytest.fixture
def claude_settings(bot_settings, fake_claude):
    return bot_settings.model_copy(update={
        "anthropic_api_key": "test-key",
        "llm": bot_settings.llm.model_copy(update={"base_url": fake_claude.base_url, "max_retries": 0,
                                                   "timeout_s": 5, "model": "claude-test"}),
    })


@pytest.fixture
async def claude_harness(claude_settings, embeddings, fake_slack):
    """Answers written by the real anthropic client against the local Messages API fake."""
    h = await make_harness(claude_settings, embeddings, fake_slack, answerer=ClaudeAnswerer(claude_settings))
    yield h
    await h.rt.drain()
    await h.bot.close()
