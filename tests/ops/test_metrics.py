"""/metrics on the Slack HTTP app: drive answers, presses and retries through the fakes, scrape,
and check that each counter and histogram moved as it should."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient, TestServer

from prometheus_client import generate_latest

from adapters.slack.blocks import HELPFUL
from bot.answering.generation import ClaudeAnswerer
from bot.ops.observer import Observer
from bot.ops.server import OpsEndpoints
from tests.fakes.anthropic_server import FakeAnthropic, HttpError, Reply
from tests.helpers import build_test_bot, inquiry
from tests.ops.scrape import samples, total, value

@pytest.fixture
async def scrape(harness):
    """GET /metrics from the Slack app's own aiohttp server (HTTP mode), as Prometheus would."""
    web_app = harness.app.web_app(path="/slack/events")
    ops = OpsEndpoints.for_bot(harness.bot)
    ops.add_routes(web_app)
    client = TestClient(TestServer(web_app))
    await client.start_server()

    async def get() -> dict:
        response = await client.get("/metrics")
        assert response.status == 200 and response.content_type.startswith("text/plain")
        return samples(await response.text())

    async with ops.serving(own_port=False):
        yield get
    await client.close()


async def test_answers_presses_and_retries_move_the_metrics(harness, scrape, fake_slack):
    before = await scrape()
    assert value(before, "supportbot_answers_total", platform="slack", mode="extractive", cached="false",
                 audience="public") == 0

    await harness.mention("How long does shipping take?", event_id="EvFirst")
    await harness.mention("How long does shipping take?", event_id="EvFirst")  # Slack's retry
    await harness.mention("How long does shipping take?")  # asked again: from the cache
    await harness.mention("What's the weather in Paris?")  # declined
    updates = fake_slack.calls("chat.update")
    assert len(updates) == 3
    answer_id = next(e["value"] for b in updates[0].args["blocks"] if b.get("type") == "actions"
                     for e in b["elements"] if e["action_id"] == HELPFUL)
    reply = next(m for m in fake_slack.messages(updates[0].args["channel"]) if m["ts"] == updates[0].args["ts"])
    await harness.press(HELPFUL, answer_id, message=reply)

    found = await scrape()
    answers = dict(platform="slack", audience="public")
    assert value(found, "supportbot_answers_total", mode="extractive", cached="false", **answers) == 1
    assert value(found, "supportbot_answers_total", mode="extractive", cached="true", **answers) == 1
    assert value(found, "supportbot_answers_total", mode="declined", cached="false", **answers) == 1
    assert value(found, "supportbot_duplicate_deliveries_total", source="slack") == 1
    assert value(found, "supportbot_answer_seconds_count", cached="false") == 2
    assert value(found, "supportbot_answer_seconds_count", cached="true") == 1
    # Retrieval ran for the two fresh questions; the cache hit skipped it.
    assert value(found, "supportbot_stage_seconds_count", stage="embed") == 2
    assert value(found, "supportbot_stage_seconds_count", stage="search") == 2
    assert value(found, "supportbot_stage_seconds_count", stage="rewrite") == 3
    assert value(found, "supportbot_stage_seconds_count", stage="model_first_token") == 0  # no model here
    assert value(found, "supportbot_post_seconds_count", platform="slack") == 3
    assert value(found, "supportbot_posts_total", platform="slack", outcome="ok") == 3
    assert value(found, "supportbot_redis_up") == 1
    assert value(found, "supportbot_redis_late_replies_total") == 0
    assert value(found, "supportbot_index_generation") >= 1
    version = harness.bot.prompts.current().version
    assert value(found, "supportbot_prompt_version_info", prompt_version=version) == 1
    assert value(found, "supportbot_feedback_total", prompt_version=version, helpful="true") == 1
    assert total(found, "process_resident_memory_bytes") > 0


@pytest.fixture
def claude():
    with FakeAnthropic() as server:
        yield server


async def test_model_stages_fallbacks_escalations_and_reindex_are_counted(sample_settings, embeddings, claude,
                                                                          tmp_path):
    settings = sample_settings.model_copy(update={
        "anthropic_api_key": "test-key", "data_dir": tmp_path / "data",
        "llm": sample_settings.llm.model_copy(update={"base_url": claude.base_url, "max_retries": 0,
                                                      "timeout_s": 5, "model": "claude-test"}),
    })
    bot = build_test_bot(settings, embeddings, answerer=ClaudeAnswerer(settings))
    metrics = OpsEndpoints.for_bot(bot).registry
    bot.reindex()
    claude.queue(Reply("Orders over 75 dollars ship free [1].", chunk_size=6), HttpError(500, "api_error", "boom"))
    generated = await bot.answer(inquiry("Is shipping free?"))
    fallback = await bot.answer(inquiry("Can I return an opened item after 30 days?"))
    conversation = inquiry("x").conversation
    escalation = await bot.escalate(conversation, requested_by="U1")
    await bot.escalate(conversation, requested_by="U2")  # already open: not a second one
    await bot.resolve(escalation.escalation_id, "U3")
    await bot.resolve(escalation.escalation_id, "U4")  # already resolved
    await bot.close()

    found = samples(generate_latest(metrics).decode())
    assert generated.mode == "generated" and fallback.mode == "extractive"
    assert value(found, "supportbot_stage_seconds_count", stage="model_first_token") == 1
    assert value(found, "supportbot_stage_seconds_count", stage="model_total") == 1
    assert total(found, "supportbot_model_fallbacks_total", step="answer") == 1
    assert value(found, "supportbot_escalations_total", platform="test", event="opened") == 1
    assert value(found, "supportbot_escalations_total", platform="test", event="resolved") == 1
    assert value(found, "supportbot_reindexes_total", outcome="ok") == 1
    assert value(found, "supportbot_reindex_last_success") == 1
    assert value(found, "supportbot_reindex_last_duration_seconds") > 0
    assert value(found, "supportbot_index_generation") == bot.index.generation()


async def test_a_bot_built_without_metrics_serves_an_empty_registry(sample_settings, embeddings):
    bot = build_test_bot(sample_settings, embeddings)
    bot.observer = Observer()
    await bot.answer(inquiry("Is shipping free?"))
    found = samples(generate_latest(OpsEndpoints.for_bot(bot).registry).decode())
    assert not any(name.startswith("supportbot_") for name, _ in found)
    await bot.close()
