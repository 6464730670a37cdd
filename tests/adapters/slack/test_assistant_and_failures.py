"""Assistant threads (status, suggested prompts, streaming) and failures that must not go silent.

Claude is the real anthropic client (through the service's answerer) against the local fake.
"""

from __future__ import annotations

import pytest

from adapters.slack import blocks
from bot.answering.generation import ClaudeAnswerer
from tests.adapters.slack.conftest import make_harness
from tests.adapters.slack.harness import ASKER, PUBLIC, new_ts
from tests.fakes.anthropic_server import FakeAnthropic, HttpError, Reply, StreamError
from tests.fakes.slack_api import TEAM_ID

DM = "D0ASKER"


@pytest.fixture
def fake_claude():
    with FakeAnthropic() as server:
        yield server


@pytest.fixture
async def claude_harness(bot_settings, embeddings, fake_slack, fake_claude):
    settings = bot_settings.model_copy(update={
        "anthropic_api_key": "test-key",
        "llm": bot_settings.llm.model_copy(update={"base_url": fake_claude.base_url, "max_retries": 0,
                                                   "timeout_s": 5, "model": "claude-test"}),
    })
    h = await make_harness(settings, embeddings, fake_slack, answerer=ClaudeAnswerer(settings))
    yield h
    await h.rt.drain()
    await h.bot.close()


def _actions(blocks_: list[dict]) -> list[str]:
    return [e["action_id"] for b in blocks_ if b["type"] == "actions" for e in b["elements"]]


async def _assistant_question(harness, text: str, thread: str) -> None:
    # Slack made the thread's root when the person opened the assistant.
    harness.slack.add_user_message(DM, thread, ASKER, "New Assistant Thread")
    await harness.message(text, channel=DM, channel_type="im", thread_ts=thread)


async def test_assistant_thread_start_offers_suggested_prompts(harness):
    thread = new_ts()
    await harness.event({"type": "assistant_thread_started", "event_ts": thread, "assistant_thread": {
        "user_id": ASKER, "channel_id": DM, "thread_ts": thread,
        "context": {"channel_id": PUBLIC, "team_id": TEAM_ID}}})
    [prompts] = harness.slack.calls("assistant.threads.setSuggestedPrompts")
    assert prompts.args["channel_id"] == DM and prompts.args["thread_ts"] == thread
    assert [p["message"] for p in prompts.args["prompts"]] == harness.rt.slack.suggested_prompts
    assert harness.slack.messages(DM, thread)  # and a greeting


async def test_assistant_thread_sets_a_status_then_streams_the_answer(claude_harness, fake_claude):
    harness = claude_harness
    fake_claude.queue(Reply("Opened items can't be returned after 30 days [1]. " * 16, chunk_size=20))
    thread = new_ts()
    await _assistant_question(harness, "Can I return an opened item after 30 days?", thread)
    methods = harness.slack.methods()
    assert methods.index("assistant.threads.setStatus") < methods.index("chat.startStream")
    status = harness.slack.calls("assistant.threads.setStatus")[0].args
    assert status["thread_ts"] == thread and status["status"]
    start = harness.slack.calls("chat.startStream")[0].args
    assert (start["channel"], start["thread_ts"], start["recipient_user_id"], start["recipient_team_id"]) == \
        (DM, thread, ASKER, TEAM_ID)
    streamed = "".join(chunk["text"] for name in ("chat.startStream", "chat.appendStream", "chat.stopStream")
                       for call in harness.slack.calls(name) for chunk in call.args.get("chunks") or [])
    assert streamed.startswith("Opened items can't be returned after 30 days [1].")
    assert len(harness.slack.calls("chat.appendStream")) >= 1  # more than one piece on the wire
    stop = harness.slack.calls("chat.stopStream")[0].args
    assert _actions(stop["blocks"]) == [blocks.HELPFUL, blocks.NOT_HELPFUL, blocks.TALK_TO_HUMAN]
    assert harness.slack.calls("chat.postMessage") == []  # no placeholder in assistant threads


async def test_a_model_failure_mid_stream_still_ends_in_a_full_answer_with_the_button(claude_harness, fake_claude):
    harness = claude_harness
    fake_claude.queue(StreamError("Opened items are " * 20))
    thread = new_ts()
    await _assistant_question(harness, "Can I return an opened item after 30 days?", thread)
    assert harness.slack.calls("chat.stopStream")  # the broken stream is closed...
    [final] = harness.slack.calls("chat.update")  # ...and replaced by the policy's own words
    assert final.args["ts"] == harness.slack.calls("chat.startStream")[0].result["ts"]
    assert "Here is what our policy says" in final.args["text"]
    assert blocks.TALK_TO_HUMAN in _actions(final.args["blocks"])


async def test_a_model_error_in_a_channel_still_answers_with_the_button(claude_harness, fake_claude):
    harness = claude_harness
    fake_claude.default = HttpError(500, "api_error", "Internal server error")
    thread = await harness.mention("Can I return an opened item after 30 days?")
    [reply] = harness.slack.messages(PUBLIC, thread)
    assert "Here is what our policy says" in reply["text"]
    assert blocks.TALK_TO_HUMAN in _actions(reply["blocks"])


async def test_a_service_failure_gives_an_apology_with_the_button_never_silence(harness, monkeypatch):
    async def broken(*args, **kwargs):
        raise RuntimeError("index unreadable")

    monkeypatch.setattr(harness.bot, "answer", broken)
    thread = await harness.mention("How long does shipping take?")
    [reply] = harness.slack.messages(PUBLIC, thread)
    assert reply["text"] == harness.bot.apology()
    assert _actions(reply["blocks"]) == [blocks.TALK_TO_HUMAN]
    # The apology's button still hands the thread over.
    human = reply["blocks"][-1]["elements"][0]["value"]
    await harness.press(blocks.TALK_TO_HUMAN, human, message=reply)
    assert len(harness.slack.messages("CSTAFF")) == 1


async def test_a_service_failure_in_an_assistant_thread_gives_the_apology(harness, monkeypatch):
    async def broken(*args, **kwargs):
        raise RuntimeError("index unreadable")

    monkeypatch.setattr(harness.bot, "answer", broken)
    thread = new_ts()
    await _assistant_question(harness, "How long does shipping take?", thread)
    [reply] = harness.slack.messages(DM, thread)
    assert reply["text"] == harness.bot.apology() and _actions(reply["blocks"]) == [blocks.TALK_TO_HUMAN]


async def test_a_rate_limited_slack_call_is_retried_after_retry_after(harness):
    from tests.fakes.slack_api import Failure

    harness.slack.fail_next("chat.update", Failure(status=429, retry_after=0))
    thread = await harness.mention("How long does shipping take?")
    updates = harness.slack.calls("chat.update")
    assert [u.status for u in updates] == [429, 200]
    [reply] = harness.slack.messages(PUBLIC, thread)
    assert "answer_actions" in str(reply["blocks"])
