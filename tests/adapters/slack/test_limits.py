"""Every Block Kit payload fits Slack's limits by construction: pure checks with the fake's own
rules, then the worst cases end to end through the strict fake."""

from __future__ import annotations

import re

import pytest

from adapters.slack import blocks
from adapters.slack.mrkdwn import ATOMS, fit, split, to_mrkdwn
from adapters.slack.refs import ThreadRef
from bot.types import ConversationKey
from tests.adapters import worst_cases
from tests.adapters.slack.harness import PUBLIC, STAFF
from tests.fakes.slack_rules import block_errors

REF = ThreadRef("C0123456789", "1700000000.000100", worst_cases.ANSWER_ID, asker=worst_cases.USER_ID,
                signer=worst_cases.SIGNER)


def intact(text: str) -> bool:
    """No entity or <…> link cut in half: every & starts an entity, every < is closed by a >."""
    without = re.sub(r"^> ", "", ATOMS.sub("", text), flags=re.M)  # "> " opens a block quote
    return "&" not in without and "<" not in without and ">" not in without


def section_texts(built: list[dict]) -> list[str]:
    texts = [b["text"]["text"] for b in built if b["type"] == "section"]
    return texts + [e["text"] for b in built if b["type"] == "context" for e in b["elements"]]


@pytest.mark.parametrize("text", worst_cases.ADVERSARIAL, ids=lambda t: repr(t[:20]))
def test_any_answer_text_gives_valid_blocks_and_cuts_no_markup(text):
    built = blocks.answer_blocks(worst_cases.answer(text=text), REF)
    assert block_errors(built) == []
    assert all(intact(t) for t in section_texts(built))


@pytest.mark.parametrize("text", worst_cases.ADVERSARIAL, ids=lambda t: repr(t[:20]))
def test_split_and_fit_never_exceed_the_limit_or_cut_markup(text):
    escaped = to_mrkdwn(text)
    pieces = split(escaped, 3000)
    assert all(0 < len(p) <= 3000 and intact(p) for p in pieces)
    if "```" not in escaped:  # no fences added: nothing is lost but whitespace at the cuts
        assert re.sub(r"\s+", "", "".join(pieces)) == re.sub(r"\s+", "", escaped)
    short = fit(escaped, 500)
    assert len(short) <= 500 and intact(short)


def test_a_6000_character_answer_is_split_between_paragraphs():
    built = blocks.answer_blocks(worst_cases.answer(sources=[*worst_cases.long_sources(), worst_cases.returns_page()]),
                                 REF)
    sections = [b["text"]["text"] for b in built if b["type"] == "section"]
    assert len(sections) >= 3 and block_errors(built) == []
    assert all(s.startswith(("*Part", "```")) for s in sections)
    assert sum(map(len, sections)) >= 6000  # nothing dropped: escaping only makes it longer


def test_ten_long_sources_are_summarised_not_dropped_and_no_link_is_cut():
    [context] = blocks.sources_blocks(worst_cases.long_sources())
    text = context["elements"][0]["text"]
    assert len(text) <= 3000 and intact(text)
    shown = re.findall(r"^(\d+)\. <https://", text, re.M)
    more = re.search(r"…and (\d+) more sources", text)
    assert more and len(shown) + int(more.group(1)) == 10
    assert shown == [str(n) for n in range(1, len(shown) + 1)]  # in order, the first ones shown


def test_a_source_without_room_for_its_address_keeps_its_title():
    [source] = worst_cases.long_sources(1, url_chars=2000)
    [context] = blocks.sources_blocks([source])
    assert "<https://" not in context["elements"][0]["text"] and "Returns &amp; refunds" in context["elements"][0]["text"]


def test_a_hand_over_of_a_4000_character_question_and_a_long_answer_fits():
    escalation = worst_cases.escalation(ConversationKey("slack", "C1", "1700000000.000100"))
    built = blocks.escalation_blocks(escalation, permalink="https://t.slack.com/archives/C1/p1700000000000100",
                                     support_mention=blocks.support_mention("S0SUPPORT"), resolve_value="r")
    assert block_errors(built) == []
    assert all(intact(t) for t in section_texts(built))
    assert len(built) <= blocks.MAX_BLOCKS


def test_an_answer_beyond_one_message_is_shortened_and_says_so():
    built = blocks.answer_blocks(worst_cases.answer(text=worst_cases.long_answer_text(40_000)), REF)
    assert block_errors(built) == []
    assert built[len([b for b in built if b["type"] == "section"]) - 1]["text"]["text"] == blocks.SHORTENED
    assert sum(len(t) for t in section_texts(built)) <= blocks.ANSWER_CHARS + 3000 + len(blocks.SHORTENED)


# ----- end to end through the strict fake ----------------------------------------------------------

async def test_worst_case_answer_and_hand_over_are_accepted_by_slack(harness, monkeypatch):
    async def answer(inquiry, on_delta=None):
        return worst_cases.answer()

    monkeypatch.setattr(harness.bot, "answer", answer)
    thread = await harness.mention(worst_cases.long_question())
    [reply] = harness.slack.messages(PUBLIC, thread)
    assert "more sources" in str(reply["blocks"])

    async def escalate(conversation, requested_by, answer_id=None):
        return worst_cases.escalation(conversation)

    monkeypatch.setattr(harness.bot, "escalate", escalate)
    human = next(e for b in reply["blocks"] if b["type"] == "actions" for e in b["elements"]
                 if e["action_id"] == blocks.TALK_TO_HUMAN)
    await harness.press(blocks.TALK_TO_HUMAN, human["value"], message=reply)
    [staff_post] = harness.slack.messages(STAFF)
    assert "*Question*" in str(staff_post["blocks"])
    assert not harness.slack.rejected()  # and the fixture checks every other call too
