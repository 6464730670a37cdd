"""Fixtures for the stall tests: a Redis this module starts itself (never the session's shared
one), behind a StallingProxy; overriding `redis_url` routes every Redis call of the bot through it."""

from __future__ import annotations

import pytest

from tests import redis_server
from tests.security.stalling_proxy import StallingProxy


@pytest.fixture(scope="module")
def own_redis():
    try:
        server = redis_server.start()
    except redis_server.NoServer as exc:
        pytest.skip(f"no Redis server binary to start: {exc}")
    yield server.url
    server.stop()


@pytest.fixture
async def proxy(own_redis):
    started = await StallingProxy(own_redis).start()
    yield started
    await started.stop()


@pytest.fixture
def redis_url(proxy):
    return proxy.url
