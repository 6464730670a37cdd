"""Buttons through the real bolt app: hand-over to a person, Mark resolved, feedback."""

from __future__ import annotations

from adapters.slack import blocks
from adapters.slack.refs import ThreadRef
from tests.adapters.slack.harness import AGENT, ASKER, PUBLIC, STAFF


def _button(message: dict, action_id: str) -> dict:
    return next(e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]
                if e["action_id"] == action_id)


async def _subject(harness, value: str) -> str:
    """The answer or hand-over id a sealed button value is about."""
    return (await harness.bot.button_signer()).open(value).subject


async def _answered_thread(harness, question="How long do refunds take?") -> tuple[str, dict]:
    thread = await harness.mention(question)
    [reply] = harness.slack.messages(PUBLIC, thread)
    return thread, reply


async def test_talk_to_a_human_posts_to_staff_quiets_the_thread_and_resolve_reenables_it(harness):
    thread, reply = await _answered_thread(harness)
    human = _button(reply, blocks.TALK_TO_HUMAN)
    response = await harness.press(blocks.TALK_TO_HUMAN, human["value"], message=reply)
    assert response.status == 200

    [staff_post] = harness.slack.messages(STAFF)
    text = str(staff_post["blocks"])
    assert f"<@{ASKER}>" in text and "<!subteam^S0SUPPORT>" in text
    assert "How long do refunds take?" in text and "The bot's answer" in text and "*Sources*" in text
    permalink = harness.slack.calls("chat.getPermalink")[0]
    assert (permalink.args["channel"], permalink.args["message_ts"]) == (PUBLIC, thread)
    assert f"https://test.slack.com/archives/{PUBLIC}/p{thread.replace('.', '')}" in text
    resolve = _button(staff_post, blocks.MARK_RESOLVED)
    # The asker is told, in the thread, that a person will follow up.
    acknowledgement = harness.slack.messages(PUBLIC, thread)[-1]
    assert "blocks" not in acknowledgement and acknowledgement["text"]

    # Quiet in the thread: a follow-up gets nothing, a mention only a private note.
    before = len(harness.slack.calls("chat.postMessage"))
    await harness.message("hello? anyone?", thread_ts=thread)
    await harness.mention("are you there?", thread_ts=thread)
    assert len(harness.slack.calls("chat.postMessage")) == before
    [note] = harness.slack.calls("chat.postEphemeral")
    assert note.args["user"] == ASKER and note.args["thread_ts"] == thread

    await harness.press(blocks.MARK_RESOLVED, resolve["value"], user=AGENT, channel=STAFF,
                        message={"ts": staff_post["ts"], "blocks": staff_post["blocks"]})
    escalation = await harness.bot.records.find_escalation(await _subject(harness, resolve["value"]))
    assert escalation.resolved_by == AGENT
    [staff_post] = harness.slack.messages(STAFF)
    assert not any(b["type"] == "actions" for b in staff_post["blocks"])
    assert f"Resolved by <@{AGENT}>" in str(staff_post["blocks"])

    # The bot is back: a follow-up without a mention is answered again.
    await harness.message("How long do refunds take for store credit?", thread_ts=thread)
    assert any("blocks" in m and "answer_actions" in str(m["blocks"])
               for m in harness.slack.messages(PUBLIC, thread)[-1:])


async def test_a_second_press_does_not_post_a_second_hand_over(harness):
    _, reply = await _answered_thread(harness)
    value = _button(reply, blocks.TALK_TO_HUMAN)["value"]
    await harness.press(blocks.TALK_TO_HUMAN, value, message=reply)
    await harness.press(blocks.TALK_TO_HUMAN, value, user=AGENT, channel=PUBLIC, message=reply)
    assert len(harness.slack.messages(STAFF)) == 1
    private = harness.slack.calls("response_url")[-1].args
    assert private["response_type"] == "ephemeral" and "already with our support team" in private["text"]


async def test_a_second_resolver_is_told_who_resolved_it_first(harness):
    _, reply = await _answered_thread(harness)
    await harness.press(blocks.TALK_TO_HUMAN, _button(reply, blocks.TALK_TO_HUMAN)["value"], message=reply)
    [staff_post] = harness.slack.messages(STAFF)
    resolve = _button(staff_post, blocks.MARK_RESOLVED)["value"]
    await harness.press(blocks.MARK_RESOLVED, resolve, user=AGENT, channel=STAFF)
    await harness.press(blocks.MARK_RESOLVED, resolve, user="ULATE", channel=STAFF)
    assert (await harness.bot.records.find_escalation(await _subject(harness, resolve))).resolved_by == AGENT
    assert f"<@{AGENT}> resolved this already" in harness.slack.calls("response_url")[-1].args["text"]


async def test_when_the_staff_channel_is_unreachable_the_asker_is_told_and_the_thread_stays_open(harness):
    from tests.fakes.slack_api import Failure

    thread, reply = await _answered_thread(harness)
    harness.slack.fail_next("chat.postMessage", Failure(error="not_in_channel"))
    await harness.press(blocks.TALK_TO_HUMAN, _button(reply, blocks.TALK_TO_HUMAN)["value"], message=reply)
    assert "couldn't reach our support team" in harness.slack.calls("response_url")[-1].args["text"]
    assert not await harness.bot.is_escalated(ThreadRef(PUBLIC, thread).conversation)


async def test_feedback_is_recorded_with_the_prompt_version_and_acknowledged_privately(harness):
    _, reply = await _answered_thread(harness)
    helpful, not_helpful = _button(reply, blocks.HELPFUL)["value"], _button(reply, blocks.NOT_HELPFUL)["value"]
    await harness.press(blocks.HELPFUL, helpful, message=reply)
    await harness.press(blocks.NOT_HELPFUL, not_helpful, user=AGENT, message=reply)
    votes = {f.user_id: f for f in await harness.bot.records.feedback_for(await _subject(harness, helpful))}
    assert votes[ASKER].helpful is True and votes[AGENT].helpful is False
    assert votes[ASKER].prompt_version == harness.bot.prompts.current().version
    acks = harness.slack.calls("response_url")
    assert [a.args["response_type"] for a in acks] == ["ephemeral", "ephemeral"]
    assert all(a.args["replace_original"] is False for a in acks)
    assert "helped" in acks[0].args["text"] and "Talk to a human" in acks[1].args["text"]


async def test_feedback_on_an_answer_no_longer_kept_says_so(harness):
    _, reply = await _answered_thread(harness)
    helpful = _button(reply, blocks.HELPFUL)["value"]
    answer_key = harness.bot.state.redis.key("answer-id", await _subject(harness, helpful))
    await harness.bot.state.redis.run(lambda r: r.delete(answer_key))  # expired
    await harness.press(blocks.HELPFUL, helpful, message=reply)
    assert "can no longer find that answer" in harness.slack.calls("response_url")[0].args["text"]


async def test_a_button_value_from_elsewhere_gets_a_clear_reply(harness):
    await harness.press(blocks.TALK_TO_HUMAN, "not json")
    assert "isn't one I recognise" in harness.slack.calls("response_url")[0].args["text"]
    assert harness.slack.messages(STAFF) == []
