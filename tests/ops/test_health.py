"""/healthz and /readyz: readiness follows the index, Weaviate and the platform connection; Redis
down is degraded, not unready; Socket Mode and Discord workers serve them on ops.port."""

from __future__ import annotations

import asyncio
import socket
import time

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from bot.ops.server import OpsEndpoints
from bot.settings import WeaviateSettings
from tests.fakes.weaviate_server import FakeWeaviate
from tests.helpers import build_test_bot, inquiry


@pytest.fixture
def empty_settings(sample_settings, tmp_path):
    """The sample knowledge base, but an index directory nothing was written to yet."""
    return sample_settings.model_copy(update={"data_dir": tmp_path / "data"})


async def _client(bot) -> tuple[TestClient, OpsEndpoints]:
    ops = OpsEndpoints.for_bot(bot)
    app = web.Application()
    ops.add_routes(app)
    client = TestClient(TestServer(app))
    await client.start_server()
    return client, ops


async def _ready(client) -> tuple[int, dict]:
    response = await client.get("/readyz")
    return response.status, await response.json()


async def test_readyz_flips_when_an_index_exists(empty_settings, embeddings):
    bot = build_test_bot(empty_settings, embeddings)
    client, _ = await _client(bot)
    status, body = await _ready(client)
    assert status == 503 and body["status"] == "unready"
    assert body["checks"]["index"] == {"ok": False, "detail": "no index yet: run `supportbot index`",
                                       "required": True}
    bot.reindex()
    status, body = await _ready(client)
    assert status == 200 and body["checks"]["index"]["ok"]
    assert body["checks"]["index"]["detail"] == f"generation {bot.index.generation()}"
    # No REDIS_URL: ready, and it says state is in-process only.
    assert body["status"] == "ready" and "in-process" in body["checks"]["redis"]["detail"]
    await client.close()
    await bot.close()


async def test_redis_down_is_degraded_not_unready(sample_settings, embeddings):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    settings = sample_settings.model_copy(update={
        "redis_url": SecretStr(f"redis://127.0.0.1:{port}/0"),
        "redis": sample_settings.redis.model_copy(update={"connect_timeout_s": 0.2, "socket_timeout_s": 0.2})})
    bot = build_test_bot(settings, embeddings)
    client, _ = await _client(bot)
    answer = await bot.answer(inquiry("How long does a refund take?"))  # trips the breaker
    assert answer.grounded
    status, body = await _ready(client)
    assert status == 200 and body["status"] == "degraded"
    assert body["checks"]["redis"]["ok"] is False and body["checks"]["redis"]["required"] is False
    await client.close()
    await bot.close()


async def test_readyz_follows_weaviate(sample_settings, embeddings, tmp_path):
    fake = FakeWeaviate().start()
    settings = sample_settings.model_copy(update={"weaviate": WeaviateSettings(
        url=fake.url, grpc_port=fake.grpc_port, collection="SbReady", init_timeout_s=1, query_timeout_s=1)})
    bot = build_test_bot(settings, embeddings)
    client, _ = await _client(bot)
    try:
        status, body = await _ready(client)
        assert status == 503 and not body["checks"]["index"]["ok"] and body["checks"]["weaviate"]["ok"]
        bot.reindex()
        status, body = await _ready(client)
        assert status == 200 and body["checks"]["index"]["ok"] and body["checks"]["weaviate"]["ok"]
        fake.stop()
        status, body = await _ready(client)
        assert status == 503 and body["status"] == "unready"
        assert not body["checks"]["weaviate"]["ok"] and "unreachable" in body["checks"]["weaviate"]["detail"]
    finally:
        fake.stop()
        await client.close()
        await bot.close()


async def test_platform_connection_and_liveness(sample_settings, embeddings):
    bot = build_test_bot(sample_settings, embeddings)
    client, ops = await _client(bot)
    connected = {"up": False}

    async def socket_connected() -> bool:
        return connected["up"]

    ops.health.add_check("slack_socket", socket_connected)
    status, body = await _ready(client)
    assert status == 503 and body["checks"]["slack_socket"] == {"ok": False, "detail": "not connected",
                                                                "required": True}
    connected["up"] = True
    assert (await _ready(client))[0] == 200
    live = await client.get("/healthz")
    assert live.status == 200 and (await live.json())["checks"]["event_loop"]["ok"]
    await client.close()
    await bot.close()


async def test_healthz_fails_after_the_event_loop_was_blocked(sample_settings, embeddings):
    settings = sample_settings.model_copy(update={"ops": sample_settings.ops.model_copy(
        update={"max_loop_lag_s": 0.2})})
    bot = build_test_bot(settings, embeddings)
    ops = OpsEndpoints.for_bot(bot)
    async with ops.serving(own_port=False):
        await asyncio.sleep(0.6)  # heartbeats run
        assert (await ops.health.live()).healthy
        time.sleep(0.5)  # synchronous work hogs the loop: no heartbeat meanwhile
        blocked = await ops.health.live()
        assert not blocked.healthy and blocked.status == "failing"
        await asyncio.sleep(0.6)
        assert (await ops.health.live()).healthy  # recovered once the loop runs again
    await bot.close()


async def test_workers_serve_the_endpoints_on_their_own_port(sample_settings, embeddings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = sample_settings.model_copy(update={"ops": sample_settings.ops.model_copy(
        update={"host": "127.0.0.1", "port": port})})
    bot = build_test_bot(settings, embeddings)
    await bot.answer(inquiry("How long does a refund take?"))
    ops = OpsEndpoints.for_bot(bot)
    async with ops.serving(), aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
            assert response.status == 200
            assert 'supportbot_answers_total{audience="public",cached="false",mode="extractive",platform="test"} 1.0' \
                in await response.text()
        async with session.get(f"http://127.0.0.1:{port}/readyz") as response:
            assert response.status == 200
    with pytest.raises(aiohttp.ClientConnectionError):  # closed with the block
        async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/healthz"):
            pass
    await bot.close()


async def test_port_zero_serves_nothing(sample_settings, embeddings):
    settings = sample_settings.model_copy(update={"ops": sample_settings.ops.model_copy(update={"port": 0})})
    bot = build_test_bot(settings, embeddings)
    async with OpsEndpoints.for_bot(bot).serving() as served:
        assert served is None
    await bot.close()
