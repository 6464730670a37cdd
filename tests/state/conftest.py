"""Fixtures for state tests: the session's real Redis (tests/conftest.py `redis_url`), isolated by
a random key prefix."""

from __future__ import annotations

import uuid

import pytest
import redis as redis_sync
from pydantic import SecretStr

from bot.answering.generation import ClaudeAnswerer
from bot.settings import Settings
from bot.state.connection import RedisState, connect
from tests.fakes.anthropic_server import FakeAnthropic
from tests.helpers import build_test_bot
from tests.redis_server import session_url


@pytest.fixture
def prefix(redis_url):
    name = f"test-{uuid.uuid4().hex[:12]}:"
    yield name
    client = redis_sync.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=name + "*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def raw_redis(redis_url):
    """A plain synchronous client on the session's Redis, to look at what the bot stored."""
    client = redis_sync.Redis.from_url(redis_url)
    yield client
    client.close()


def with_redis(settings: Settings, prefix: str, url: str | None = None, **redis_overrides) -> Settings:
    """Settings on the session's Redis (or `url`) under `prefix`; request `prefix` first."""
    return settings.model_copy(update={
        "redis_url": SecretStr(url or session_url()),
        "redis": settings.redis.model_copy(update={"key_prefix": prefix, **redis_overrides}),
    })


@pytest.fixture
async def redis_state(sample_settings, prefix):
    state = connect(with_redis(sample_settings, prefix))
    yield state
    await state.close()


@pytest.fixture
def fake():
    with FakeAnthropic() as server:
        yield server


def claude_settings(settings: Settings, fake: FakeAnthropic) -> Settings:
    return settings.model_copy(update={
        "anthropic_api_key": SecretStr("test-key"),
        "llm": settings.llm.model_copy(update={"base_url": fake.base_url, "max_retries": 0,
                                               "timeout_s": 10, "model": "claude-test"}),
    })


def make_bot(settings: Settings, embeddings, *, fake: FakeAnthropic | None = None,
             redis: RedisState | None = None):
    """A bot on the sample KB with Redis state, answering with the fake Claude when given."""
    if fake is not None:
        settings = claude_settings(settings, fake)
        return build_test_bot(settings, embeddings, answerer=ClaudeAnswerer(settings), redis=redis)
    return build_test_bot(settings, embeddings, redis=redis)
