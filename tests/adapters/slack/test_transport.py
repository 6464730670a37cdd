"""HTTP mode end to end (signed requests to the app's aiohttp endpoint) and Socket Mode dispatch."""

from __future__ import annotations

import json
import time

import pytest
from aiohttp.test_utils import TestClient, TestServer
from slack_bolt.request.async_request import AsyncBoltRequest

from adapters.slack.app import build_app
from adapters.slack.process import check_settings
from bot.settings import SettingsError, SlackSettings
from tests.adapters.slack.conftest import slack_settings
from tests.adapters.slack.harness import PUBLIC, event_body, new_ts, signed_headers
from tests.helpers import build_test_bot

PATH = "/slack/events"


@pytest.fixture
async def http(bot_settings, embeddings, fake_slack):
    """The app as it runs in production HTTP mode: Slack is answered before the listener finishes."""
    bot = build_test_bot(bot_settings, embeddings)
    app, rt = build_app(bot, bot_settings.slack)
    client = TestClient(TestServer(app.web_app(path=PATH)))
    await client.start_server()
    yield client, rt
    await rt.drain()
    await client.close()
    await bot.close()


def _mention(text: str) -> str:
    ts = new_ts()
    return event_body({"type": "app_mention", "user": "UASKER", "text": f"<@U0BOT> {text}", "ts": ts,
                       "channel": PUBLIC, "event_ts": ts})


async def test_a_signed_event_is_acknowledged_and_answered_in_its_thread(http, fake_slack):
    client, rt = http
    body = _mention("How long does shipping take?")
    response = await client.post(PATH, data=body, headers=signed_headers(body, "application/json"))
    assert response.status == 200
    [update] = await fake_slack.wait_for("chat.update")
    thread = json.loads(body)["event"]["ts"]
    assert fake_slack.messages(PUBLIC, thread)[0]["blocks"] == update.args["blocks"]


async def test_a_bad_signature_is_rejected(http, fake_slack):
    client, _ = http
    body = _mention("How long does shipping take?")
    response = await client.post(PATH, data=body,
                                 headers=signed_headers(body, "application/json", secret="someone-else"))
    assert response.status == 401
    assert fake_slack.calls("chat.postMessage") == []


async def test_a_request_older_than_five_minutes_is_rejected(http, fake_slack):
    client, _ = http
    body = _mention("How long does shipping take?")
    stale = int(time.time()) - 6 * 60
    response = await client.post(PATH, data=body, headers=signed_headers(body, "application/json", timestamp=stale))
    assert response.status == 401
    assert fake_slack.calls("chat.postMessage") == []


async def test_url_verification_is_answered(http):
    client, _ = http
    body = json.dumps({"token": "legacy", "challenge": "c-123", "type": "url_verification"})
    response = await client.post(PATH, data=body, headers=signed_headers(body, "application/json"))
    assert response.status == 200 and "c-123" in await response.text()


async def test_socket_mode_requests_need_no_signature(bot_settings, embeddings, fake_slack):
    settings = slack_settings(fake_slack, mode="socket", signing_secret=None, app_token="xapp-test")
    bot = build_test_bot(bot_settings, embeddings)
    app, rt = build_app(bot, settings, process_before_response=True)
    try:
        body = json.loads(_mention("How long does shipping take?"))
        await app.async_dispatch(AsyncBoltRequest(body=body, mode="socket_mode"))
        await rt.drain()
        assert len(fake_slack.calls("chat.update")) == 1
    finally:
        await bot.close()


def test_missing_settings_are_named_at_start(fake_slack):
    with pytest.raises(SettingsError) as error:
        check_settings(SlackSettings(mode="socket"))
    message = str(error.value)
    assert "SLACK_BOT_TOKEN" in message and "SLACK_APP_TOKEN" in message and "escalation_channel" in message
    with pytest.raises(SettingsError, match="SLACK_SIGNING_SECRET"):
        check_settings(slack_settings(fake_slack, signing_secret=None))
    check_settings(slack_settings(fake_slack))  # complete: no error


def test_slack_variable_names_are_read(monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-from-env")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-from-env")
    settings = SlackSettings()
    assert settings.bot_token.get_secret_value() == "xoxb-from-env"
    assert settings.app_token.get_secret_value() == "xapp-from-env"
    assert "xoxb-from-env" not in repr(settings)  # secrets are never printed
    assert SlackSettings(bot_token="xoxb-explicit").bot_token.get_secret_value() == "xoxb-explicit"


def test_slack_variable_names_in_a_dotenv_file_are_read_and_not_mistaken_for_typos(tmp_path, monkeypatch):
    from bot.settings import load_settings

    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("SLACK_BOT_TOKEN=xoxb-dotenv\nSLACK_SIGNING_SECRET=s3cret\n")
    settings = load_settings(None)
    assert settings.slack.bot_token.get_secret_value() == "xoxb-dotenv"
    assert settings.slack.signing_secret.get_secret_value() == "s3cret"
    (tmp_path / ".env").write_text("SUPPORTBOT_SLAKC__MODE=http\n")
    with pytest.raises(SettingsError, match="unknown setting"):
        load_settings(None)  # our own prefix is still checked for typos


async def test_serve_in_http_mode_listens_until_told_to_stop(bot_settings, embeddings, fake_slack):
    import asyncio
    import socket

    import aiohttp

    from adapters.slack.process import serve

    with socket.socket() as probe:  # a free port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = slack_settings(fake_slack, http_host="127.0.0.1", http_port=port)
    bot = build_test_bot(bot_settings, embeddings)
    app, rt = build_app(bot, settings)
    stop = asyncio.Event()
    server = asyncio.create_task(serve(app, rt, settings, stop))
    try:
        body = _mention("How long does shipping take?")
        async with aiohttp.ClientSession() as session:
            for _ in range(100):  # until the port is open
                try:
                    async with session.post(f"http://127.0.0.1:{port}{PATH}", data=body,
                                            headers=signed_headers(body, "application/json")) as response:
                        assert response.status == 200
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.05)
        await fake_slack.wait_for("chat.update")
    finally:
        stop.set()
        await server
        await rt.drain()
        await bot.close()
