"""Failures in channels that must not go silent (DMs: test_dms.py).

Claude is the real anthropic client (through the service's answerer) against the local fake.
"""

from __future__ import annotations

from adapters.slack.mrkdwn import escape

from adapters.slack import blocks
from tests.adapters.slack.harness import PUBLIC
from tests.fakes.anthropic_server import HttpError


def _actions(blocks_: list[dict]) -> list[str]:
    return [e["action_id"] for b in blocks_ if b["type"] == "actions" for e in b["elements"]]


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
    assert reply["text"] == escape(harness.bot.apology())
    assert _actions(reply["blocks"]) == [blocks.TALK_TO_HUMAN]
    # The apology's button still hands the thread over.
    human = reply["blocks"][-1]["elements"][0]["value"]
    await harness.press(blocks.TALK_TO_HUMAN, human, message=reply)
    assert len(harness.slack.messages("CSTAFF")) == 1


async def test_a_rate_limited_slack_call_is_retried_after_retry_after(harness):
    from tests.fakes.slack_api import Failure

    harness.slack.fail_next("chat.update", Failure(status=429, retry_after=0))
    thread = await harness.mention("How long does shipping take?")
    updates = harness.slack.calls("chat.update")
    assert [u.status for u in updates] == [429, 200]
    [reply] = harness.slack.messages(PUBLIC, thread)
    assert "answer_actions" in str(reply["blocks"])
