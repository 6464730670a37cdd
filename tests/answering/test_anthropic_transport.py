"""`[llm] http_transport`: Claude's async requests over aiohttp (the default) or httpx, through the
real anthropic client against the local Messages API fake. The behaviours the answer path relies
on (streaming, fallbacks) run under both in test_generation.py; here, what the transport itself
must keep: the client's settings, the timeout, and a session closed with the bot."""

from __future__ import annotations

import time

import anthropic
import pytest
from langchain_anthropic import ChatAnthropic

from bot.answering.anthropic_transport import AioHttpChatAnthropic
from bot.answering.chat_models import build_chat_model
from bot.answering.generation import ClaudeAnswerer
from bot.settings import SettingsError, load_settings
from tests.fakes.anthropic_server import FakeAnthropic, Hang, HttpError, Reply
from tests.helpers import build_test_bot, inquiry

QUESTION = "Can I return an opened item after 30 days?"


@pytest.fixture
def fake():
    with FakeAnthropic() as server:
        yield server


def claude_settings(settings, fake, **llm):
    return settings.model_copy(update={
        "anthropic_api_key": "test-key",
        "llm": settings.llm.model_copy(update={"base_url": fake.base_url, "max_retries": 0,
                                               "timeout_s": 5, "model": "claude-test", **llm}),
    })


def test_aiohttp_is_the_default_and_httpx_is_langchains_own_client(sample_settings):
    assert sample_settings.llm.http_transport == "aiohttp"
    aio = build_chat_model(sample_settings.model_copy(update={"anthropic_api_key": "k"})).model
    assert type(aio) is AioHttpChatAnthropic and aio.model == "claude-sonnet-5"
    httpx = build_chat_model(sample_settings.model_copy(update={
        "anthropic_api_key": "k", "llm": sample_settings.llm.model_copy(update={"http_transport": "httpx"})})).model
    assert type(httpx) is ChatAnthropic


def test_an_unknown_transport_is_a_settings_error(tmp_path):
    with pytest.raises(SettingsError) as error:
        load_settings(None, data_dir=tmp_path, llm={"http_transport": "curl"})
    assert "http_transport" in str(error.value) and "aiohttp" in str(error.value)


async def test_requests_over_aiohttp_carry_the_clients_key_headers_timeout_and_retries(sample_settings, embeddings, fake):
    settings = claude_settings(sample_settings, fake, max_retries=1)
    bot = build_test_bot(settings, embeddings, answerer=ClaudeAnswerer(settings))
    try:
        fake.queue(HttpError(529, "overloaded_error", retry_after_ms=10), Reply("Within 30 days [1]."))
        answer = await bot.answer(inquiry(QUESTION))
        assert answer.mode == "generated" and answer.text.startswith("Within 30 days")
        assert len(fake.requests) == 2  # the 529 was retried once, as max_retries = 1 says
        first, retry = fake.request_headers
        assert first["authorization"] == retry["authorization"] == "Bearer test-key"
        assert first["user-agent"].startswith("langchain-anthropic/")  # ChatAnthropic's own headers
        assert first["x-stainless-read-timeout"] == "5.0" and retry["x-stainless-retry-count"] == "1"
        assert isinstance(bot.answerer.chat._async_client._client, anthropic.DefaultAioHttpClient)
    finally:
        await bot.close()


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
async def test_a_model_slower_than_the_timeout_gets_the_extractive_answer_in_time(
        sample_settings, embeddings, fake, transport):
    settings = claude_settings(sample_settings, fake, timeout_s=0.5, http_transport=transport)
    bot = build_test_bot(settings, embeddings, answerer=ClaudeAnswerer(settings))
    try:
        fake.queue(Hang(30))
        started = time.monotonic()
        answer = await bot.answer(inquiry(QUESTION))
        assert answer.mode == "extractive" and answer.sources
        assert time.monotonic() - started < 3  # 0.5 s of waiting, not the fake's 30
    finally:
        await bot.close()


async def test_closing_the_bot_closes_the_session_and_a_later_answer_opens_a_new_one(
        sample_settings, embeddings, fake):
    settings = claude_settings(sample_settings, fake)
    answerer = ClaudeAnswerer(settings)
    sessions = []
    for _ in range(2):
        bot = build_test_bot(settings, embeddings, answerer=answerer)
        fake.queue(Reply("Within 30 days [1]."))
        assert (await bot.answer(inquiry(QUESTION))).mode == "generated"
        sessions.append(answerer.chat._async_client._client._transport.client)
        await bot.close()
    assert sessions[0] is not sessions[1] and all(s.closed for s in sessions)
