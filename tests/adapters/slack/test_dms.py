"""DMs with the app in both of Slack's messaging experiences, through the real bolt app.

Agent (features.agent_view, the default): prompts when the Messages tab opens, every DM answered
in a thread under it with a status and a stream. Assistant (assistant_view, existing apps):
prompts when an assistant thread starts, questions in that thread streamed.
"""

from __future__ import annotations

from adapters.slack.mrkdwn import escape

import pytest

from adapters.slack import blocks
from adapters.slack.delivery import STREAM_PIECE
from bot.speaking import HANDED_OVER
from bot.answering.generation import ClaudeAnswerer
from tests.adapters.slack.conftest import make_harness
from tests.adapters.slack.harness import ASKER, DM, PUBLIC, new_ts
from tests.fakes.anthropic_server import Reply, StreamError
from tests.fakes.slack_api import TEAM_ID

QUESTION = "Can I return an opened item after 30 days?"


def _actions(blocks_: list[dict]) -> list[str]:
    return [e["action_id"] for b in blocks_ if b["type"] == "actions" for e in b["elements"]]


def _streamed(slack) -> str:
    """The text sent through the stream methods, as markdown_text or markdown_text chunks."""
    return "".join(call.args.get("markdown_text", "") + "".join(c.get("text", "") for c in call.args.get("chunks") or [])
                   for name in ("chat.startStream", "chat.appendStream", "chat.stopStream")
                   for call in slack.calls(name))


async def _open_messages_tab(harness, tab: str = "messages") -> None:
    await harness.event({"type": "app_home_opened", "user": ASKER, "channel": DM, "tab": tab,
                         "event_ts": new_ts()})


# ----- the Agent messaging experience ------------------------------------------------------------

async def test_opening_the_messages_tab_offers_the_suggested_prompts(harness):
    await _open_messages_tab(harness)
    [call] = harness.slack.calls("assistant.threads.setSuggestedPrompts")
    assert "thread_ts" not in call.args  # with agent_view Slack ignores a call that names one
    assert [p["message"] for p in harness.slack.prompts[DM]] == harness.rt.slack.suggested_prompts
    await _open_messages_tab(harness, tab="home")
    assert len(harness.slack.calls("assistant.threads.setSuggestedPrompts")) == 1


async def test_a_context_change_is_acknowledged_and_changes_nothing(harness):
    response = await harness.event({"type": "app_context_changed", "user": ASKER, "event_ts": new_ts(),
                                    "context": {"entities": [{"type": "slack#/types/channel_id",
                                                              "value": "CSTAFF", "team_id": TEAM_ID}]}})
    assert response.status == 200 and set(harness.slack.methods()) <= {"auth.test"}  # bolt learns who it is


async def test_a_dm_is_answered_in_a_thread_under_it_with_a_status_first(harness):
    ts = await harness.message(QUESTION, channel=DM, channel_type="im")
    methods = harness.slack.methods()
    status = harness.slack.calls("assistant.threads.setStatus")[0].args
    assert (status["channel_id"], status["thread_ts"]) == (DM, ts) and status["status"]
    [reply] = harness.slack.messages(DM, ts)  # extractive (no model): posted whole, in the thread
    assert methods.index("assistant.threads.setStatus") < methods.index("chat.postMessage")
    assert _actions(reply["blocks"]) == [blocks.HELPFUL, blocks.NOT_HELPFUL, blocks.TALK_TO_HUMAN]


async def test_a_generated_dm_answer_streams_then_adds_sources_and_buttons(claude_harness, fake_claude):
    harness = claude_harness
    fake_claude.queue(Reply("Opened items can't be returned after 30 days [1]. " * 16, chunk_size=20))
    ts = await harness.message(QUESTION, channel=DM, channel_type="im")
    start = harness.slack.calls("chat.startStream")[0].args
    assert (start["channel"], start["thread_ts"], start["recipient_user_id"], start["recipient_team_id"]) == \
        (DM, ts, ASKER, TEAM_ID)
    assert _streamed(harness.slack).startswith("Opened items can't be returned after 30 days [1].")
    assert harness.slack.calls("chat.appendStream")  # more than one piece on the wire
    [reply] = harness.slack.messages(DM, ts)
    assert not reply["streaming"] and _actions(reply["blocks"]) == [blocks.HELPFUL, blocks.NOT_HELPFUL,
                                                                    blocks.TALK_TO_HUMAN]
    assert harness.slack.calls("chat.postMessage") == []  # no placeholder in DMs


async def test_a_follow_up_in_the_dm_thread_is_answered_in_that_thread(harness):
    ts = await harness.message(QUESTION, channel=DM, channel_type="im")
    await harness.message("and for sale items?", channel=DM, channel_type="im", thread_ts=ts)
    assert len(harness.slack.messages(DM, ts)) == 2


async def test_a_model_failure_mid_stream_still_ends_in_a_full_answer_with_the_button(claude_harness, fake_claude):
    harness = claude_harness
    fake_claude.queue(StreamError("Opened items are " * 20))
    ts = await harness.message(QUESTION, channel=DM, channel_type="im")
    [reply] = harness.slack.messages(DM, ts)  # the broken stream, closed and replaced
    assert reply["ts"] == harness.slack.calls("chat.startStream")[0].result["ts"]
    assert "Here is what our policy says" in reply["text"] and blocks.TALK_TO_HUMAN in _actions(reply["blocks"])


async def test_a_service_failure_in_a_dm_gives_the_apology(harness, monkeypatch):
    async def broken(*args, **kwargs):
        raise RuntimeError("index unreadable")

    monkeypatch.setattr(harness.bot, "answer", broken)
    ts = await harness.message(QUESTION, channel=DM, channel_type="im")
    [reply] = harness.slack.messages(DM, ts)
    assert reply["text"] == escape(harness.bot.apology()) and _actions(reply["blocks"]) == [blocks.TALK_TO_HUMAN]


async def test_a_handed_over_dm_thread_stays_quiet(harness):
    ts = await harness.message(QUESTION, channel=DM, channel_type="im")
    [reply] = harness.slack.messages(DM, ts)
    human = next(e for b in reply["blocks"] if b["type"] == "actions" for e in b["elements"]
                 if e["action_id"] == blocks.TALK_TO_HUMAN)
    await harness.press(blocks.TALK_TO_HUMAN, human["value"], channel=DM, message=reply)
    before = len(harness.slack.messages(DM, ts))
    await harness.message("hello?", channel=DM, channel_type="im", thread_ts=ts)
    assert len(harness.slack.messages(DM, ts)) == before
    [note] = harness.slack.calls("chat.postEphemeral")
    assert note.args["text"] == HANDED_OVER


async def test_a_huge_delta_is_streamed_in_pieces_slack_accepts(claude_settings, embeddings, fake_slack, fake_claude):
    harness = await make_harness(claude_settings, embeddings, fake_slack, answerer=ClaudeAnswerer(claude_settings))
    try:
        fake_claude.queue(Reply("Opened items are final [1]. " * 1000, chunk_size=30_000))  # one 28,000-character delta
        await harness.message(QUESTION, channel=DM, channel_type="im")
        appended = [len(c.args.get("markdown_text", "")) + sum(len(k.get("text", "")) for k in c.args.get("chunks") or [])
                    for c in harness.slack.calls("chat.appendStream")]
        assert len(appended) >= 2 and max(appended) <= 12_000 and STREAM_PIECE < 12_000
    finally:
        await harness.rt.drain()
        await harness.bot.close()


# ----- the Assistant messaging experience (existing apps) ------------------------------------------

async def _assistant_question(harness, text: str, thread: str) -> None:
    # Slack made the thread's root when the person opened the assistant.
    harness.slack.add_user_message(DM, thread, ASKER, "New Assistant Thread")
    await harness.message(text, channel=DM, channel_type="im", thread_ts=thread)


async def test_assistant_thread_start_greets_and_offers_suggested_prompts(assistant_harness):
    harness = assistant_harness
    thread = new_ts()
    await harness.event({"type": "assistant_thread_started", "event_ts": thread, "assistant_thread": {
        "user_id": ASKER, "channel_id": DM, "thread_ts": thread,
        "context": {"channel_id": PUBLIC, "team_id": TEAM_ID}}})
    [prompts] = harness.slack.calls("assistant.threads.setSuggestedPrompts")
    assert prompts.args["channel_id"] == DM and prompts.args["thread_ts"] == thread
    assert [p["message"] for p in harness.slack.prompts[DM]] == harness.rt.slack.suggested_prompts
    assert harness.slack.messages(DM, thread)  # and a greeting


async def test_an_assistant_thread_question_gets_a_status_then_the_answer(assistant_harness):
    harness = assistant_harness
    thread = new_ts()
    await _assistant_question(harness, QUESTION, thread)
    methods = harness.slack.methods()
    assert methods.index("assistant.threads.setStatus") < methods.index("chat.postMessage")
    [reply] = harness.slack.messages(DM, thread)
    assert blocks.TALK_TO_HUMAN in _actions(reply["blocks"])


@pytest.mark.parametrize("experience", ["agent", "assistant"])
async def test_the_manifest_and_the_setting_choose_the_listeners(bot_settings, embeddings, fake_slack, experience):
    fake_slack.experience = experience
    settings = bot_settings.model_copy(update={"slack": bot_settings.slack.model_copy(update={"experience": experience})})
    harness = await make_harness(settings, embeddings, fake_slack)
    try:
        await _open_messages_tab(harness)
        offered = bool(harness.slack.calls("assistant.threads.setSuggestedPrompts"))
        assert offered is (experience == "agent")
    finally:
        await harness.rt.drain()
        await harness.bot.close()
