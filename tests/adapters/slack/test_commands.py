"""Slash commands through the real bolt app: /reindex (admins only, one at a time) and /ask."""

from __future__ import annotations

import asyncio
import json

import pytest

from adapters.slack import blocks
from adapters.slack.listeners.commands import NOT_ADMIN
from bot.state.guards import Lock
from tests.adapters.slack.conftest import make_harness
from tests.adapters.slack.harness import ADMIN, ASKER, PUBLIC
from tests.conftest import STAFF_CANARY, make_settings


def ack_text(response) -> str:
    """What Slack shows the user for a slash command's ack: plain text, or the JSON's text."""
    body = response.body
    return json.loads(body)["text"] if body.startswith("{") else body


async def test_a_non_admin_reindex_is_refused_privately(harness):
    response = await harness.command("/reindex", user=ASKER)
    assert response.status == 200 and ack_text(response) == NOT_ADMIN
    assert harness.slack.calls("chat.postMessage") == []


@pytest.fixture
async def small_harness(tmp_path, small_kb, bot_settings, embeddings, fake_slack):
    """A bot on its own three-document knowledge base: reindexing it touches no shared index."""
    own = make_settings(tmp_path, small_kb)
    settings = bot_settings.model_copy(update={"data_dir": own.data_dir, "knowledge": own.knowledge})
    h = await make_harness(settings, embeddings, fake_slack)
    yield h
    await h.rt.drain()
    await h.bot.close()


async def test_an_admin_reindex_acks_then_reports_progress_and_a_summary(small_harness):
    harness = small_harness
    generation = harness.bot.index.generation()
    response = await harness.command("/reindex", user=ADMIN, drain=False)
    assert response.status == 200 and "Reindex" in ack_text(response)
    await harness.rt.drain(timeout_s=120)
    dms = harness.slack.messages("D" + ADMIN[1:])
    assert len(dms) == 2, dms  # one progress message, edited per stage, then the summary
    progress, summary = dms
    assert progress["text"].startswith(":arrows_counterclockwise: Reindex:")
    assert len(harness.slack.calls("chat.update")) >= 1  # the progress message moved on
    assert f"generation {generation + 1}" in summary["text"] and "3 added" in summary["text"]
    assert harness.bot.index.generation() == generation + 1


async def test_a_second_reindex_while_one_runs_is_refused(harness):
    # Another worker holds the reindex lock (the service's Redis lock, shared by all workers).
    other = Lock(harness.bot.state.redis, "reindex", ttl_s=60)
    assert await other.acquire("<@UOTHERADMIN>")
    try:
        response = await harness.command("/reindex", user=ADMIN)
    finally:
        await other.release()
    text = ack_text(response)
    assert "still running" in text and "<@UOTHERADMIN>" in text
    assert harness.slack.calls("chat.postMessage") == []


async def test_ask_answers_privately(harness):
    response = await harness.command("/ask", "How long does shipping take?", user=ASKER, channel=PUBLIC)
    assert json.loads(response.body) == {"text": blocks.PLACEHOLDER, "response_type": "ephemeral"}
    [answer] = harness.slack.calls("response_url")
    assert answer.args["response_type"] == "ephemeral" and answer.args["blocks"]
    assert harness.slack.calls("chat.postMessage") == []  # nothing public
    assert STAFF_CANARY not in json.dumps(answer.args)


async def test_talk_to_a_human_from_a_private_answer_replies_privately(harness):
    await harness.command("/ask", "How long does shipping take?", user=ASKER, channel=PUBLIC)
    answer = harness.slack.calls("response_url")[0].args
    human = next(e for b in answer["blocks"] if b["type"] == "actions" for e in b["elements"]
                 if e["action_id"] == blocks.TALK_TO_HUMAN)
    await harness.press(blocks.TALK_TO_HUMAN, human["value"], ephemeral=True)
    assert len(harness.slack.messages("CSTAFF")) == 1
    assert harness.slack.calls("chat.getPermalink") == []  # a private answer has no thread to link
    told = harness.slack.calls("response_url")[-1].args
    assert told["response_type"] == "ephemeral"
    assert not [m for m in harness.slack.messages(PUBLIC)]  # nothing said in the channel


async def test_reindex_ack_does_not_wait_for_the_reindex(harness, monkeypatch):
    started = asyncio.Event()
    release = asyncio.Event()

    async def slow_reindex(**kwargs):
        started.set()
        await release.wait()
        raise RuntimeError("stopped by the test")

    monkeypatch.setattr(harness.bot, "run_reindex", slow_reindex)
    response = await harness.command("/reindex", user=ADMIN, drain=False)
    assert started.is_set() and "Reindex started" in ack_text(response)
    release.set()
    await harness.rt.drain()
    [report] = harness.slack.messages("D" + ADMIN[1:])
    assert "failed unexpectedly" in report["text"] and "keeps serving" in report["text"]


async def test_a_private_reply_slack_refuses_is_logged_not_lost_silently(harness, capsys):
    from tests.fakes.slack_api import Failure

    harness.slack.fail_next("response_url", Failure(error="expired_url"))
    await harness.command("/ask", "How long does shipping take?", user=ASKER, channel=PUBLIC)
    [refused] = harness.slack.calls("response_url")
    assert refused.status == 200 and refused.result["error"] == "expired_url"
    logged = capsys.readouterr()
    assert "Slack refused a private reply" in logged.out + logged.err
