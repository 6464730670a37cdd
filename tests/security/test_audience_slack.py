"""Class 5 through the real Slack adapter: anything unsure about the audience means customers'.

- Slack Connect: a user of another organisation in a shared staff channel gets public answers.
- Thread memory is kept per audience: a customer's follow-up never carries a staff answer's text
  into the model's context, even in the same thread.
- A document whose metadata misspells its audience is never served to a customer.
"""

from __future__ import annotations

import json

import pytest

from bot.knowledge.indexer import reindex
from bot.knowledge.stores.local import LocalHybridIndex
from bot.types import Audience, ConversationKey, Inquiry
from tests.adapters.slack.conftest import (  # noqa: F401  (fixtures)
    bot_settings,
    fake_slack,
    harness,
    make_harness,
    redis_prefix,
)
from tests.adapters.slack.harness import ASKER, BOT_USER, STAFF, new_ts
from tests.conftest import make_settings
from tests.fakes.slack_api import TEAM_ID

QUESTION = "What is the exception code agents type for refund exceptions, and the approval limit?"
STAFF_ONLY_FACT = "$250"


async def _mention_in_staff_channel(harness, *, user="UGUEST", thread_ts=None, **user_facts) -> str:
    ts = new_ts()
    event = {"type": "app_mention", "user": user, "text": f"<@{BOT_USER}> {QUESTION}", "ts": ts, "channel": STAFF,
             "event_ts": ts, "team": TEAM_ID, **user_facts}
    if thread_ts:
        event["thread_ts"] = thread_ts
    await harness.event(event)
    return thread_ts or ts


@pytest.mark.parametrize("user_facts", [
    {"is_stranger": True}, {"user_team": "T0OTHERORG"}, {"team": "T0OTHERORG"},
    {"user_team": "T0OTHERORG", "source_team": "T0OTHERORG"}, {"is_stranger": True, "user_team": TEAM_ID}])
async def test_a_slack_connect_guest_in_a_staff_channel_gets_public_answers(harness, user_facts):
    thread = await _mention_in_staff_channel(harness, **user_facts)
    text = json.dumps(harness.slack.messages(STAFF, thread))
    assert STAFF_ONLY_FACT not in text and "refund-exceptions" not in text


@pytest.mark.parametrize("user_facts", [{}, {"user_team": TEAM_ID}, {"team": TEAM_ID, "is_stranger": False}])
async def test_a_member_of_the_workspace_in_a_staff_channel_gets_staff_answers(harness, user_facts):
    thread = await _mention_in_staff_channel(harness, user="UAGENT", **user_facts)
    assert STAFF_ONLY_FACT in json.dumps(harness.slack.messages(STAFF, thread))


async def test_a_guests_follow_up_in_a_staff_thread_does_not_see_the_staff_turns(harness):
    thread = await _mention_in_staff_channel(harness, user="UAGENT")
    await _mention_in_staff_channel(harness, user="UGUEST", thread_ts=thread, user_team="T0OTHERORG")
    conversation = ConversationKey("slack", STAFF, thread)
    staff_turns = await harness.bot.history(conversation, Audience.STAFF)
    public_turns = await harness.bot.history(conversation, Audience.PUBLIC)
    assert len(staff_turns) == 2 and STAFF_ONLY_FACT in staff_turns[1].text
    assert len(public_turns) == 2 and all(STAFF_ONLY_FACT not in t.text for t in public_turns)


@pytest.mark.parametrize("first, second", [(Audience.STAFF, Audience.PUBLIC), (Audience.PUBLIC, Audience.STAFF)])
async def test_memory_is_split_by_audience_in_one_conversation(harness, first, second):
    conversation = ConversationKey("slack", "CSHARED", new_ts())
    for audience in (first, second):
        await harness.bot.answer(Inquiry(QUESTION, conversation, ASKER, audience=audience))
    for audience in (first, second):
        turns = await harness.bot.history(conversation, audience)
        assert [t.role for t in turns] == ["user", "assistant"]
        assert (STAFF_ONLY_FACT in turns[1].text) is (audience is Audience.STAFF)


@pytest.mark.parametrize("spelling", ["Staff", "STAFF", "[staff]", "internal", "staff-only"])
async def test_a_misspelt_staff_document_in_a_public_folder_never_reaches_a_customer(
        tmp_path, embeddings, fake_slack, bot_settings, spelling):
    kb = tmp_path / "kb"
    (kb / "public").mkdir(parents=True)
    (kb / "staff").mkdir()
    (kb / "public" / "returns.md").write_text("---\ntitle: Returns\nurl: https://example.test/returns\n---\n"
                                              "# Returns\n\nYou can return unused items within 30 days.\n")
    (kb / "public" / "override-codes.md").write_text(
        f"---\ntitle: Override codes\naudience: {json.dumps(spelling)}\n---\n# Override codes\n\n"
        "Agents type override code ZX-4471 to approve a refund past the return window.\n")
    settings = make_settings(tmp_path, kb)
    summary = reindex(settings, LocalHybridIndex(settings.index_dir), embeddings)
    assert any("override-codes.md" in str(w) for w in summary.warnings)
    settings = bot_settings.model_copy(update={"data_dir": settings.data_dir, "knowledge": settings.knowledge})
    harness = await make_harness(settings, embeddings, fake_slack)
    try:
        question = "What override code do agents type to approve a refund past the return window?"
        public = await harness.mention(question)
        assert "ZX-4471" not in json.dumps(harness.slack.messages("CPUBLIC", public))
        staff = await harness.mention(question, channel=STAFF)
        assert "ZX-4471" in json.dumps(harness.slack.messages(STAFF, staff))  # indexed, for staff
    finally:
        await harness.bot.close()
