"""Pure rendering: message splitting, sources, buttons, hand-over reports, previews."""

from __future__ import annotations

import re

import pytest

from adapters.discord.render import (
    LIMIT,
    answer_buttons,
    escalation_report,
    render_answer,
    render_sources,
    resolved_report,
    split_text,
    streaming_preview,
)
from bot.types import Answer, ConversationKey, Escalation, Source, Turn

SOURCES = [Source(2, "Shipping [EU]", "https://example.test/shipping", "shipping", "Costs"),
           Source(1, "Returns", "https://example.test/returns?a=1", "returns"),
           Source(3, "Internal notes", "config/knowledge/staff/notes.md", "notes")]


def answer(text="Yes, within 30 days [1].", sources=SOURCES, mode="generated", offer_human=True):
    return Answer(text=text, sources=list(sources), grounded=mode in ("generated", "extractive"),
                  answer_id="a" * 32, prompt_version="v1", standalone_question="q", mode=mode,
                  offer_human=offer_human)


def test_sources_are_numbered_masked_links_in_angle_brackets():
    rendered = render_sources(SOURCES).splitlines()
    assert rendered == [
        "**Sources**",
        "[1] [Returns](<https://example.test/returns?a=1>)",
        "[2] [Shipping (EU) › Costs](<https://example.test/shipping>)",  # brackets cannot end the label
        "[3] Internal notes",  # not a web address: no link
    ]


def test_a_short_answer_is_one_message_with_its_sources():
    [message] = render_answer(answer())
    assert message.startswith("Yes, within 30 days [1].\n\n**Sources**\n[1] ")


def test_a_long_answer_splits_at_paragraphs_and_keeps_every_word_and_the_sources():
    paragraphs = [f"Paragraph {n}: " + "policy words here. " * 30 for n in range(12)]
    text = "\n\n".join(paragraphs)
    messages = render_answer(answer(text))
    assert len(messages) > 2 and all(len(m) <= LIMIT for m in messages)
    assert all(m.startswith("Paragraph") for m in messages[:-1])
    assert re.sub(r"\s+", " ", " ".join(messages)).count("policy words here.") == 12 * 30
    assert messages[-1].rstrip().endswith("[3] Internal notes")


def test_sources_go_to_their_own_message_when_the_last_one_is_full():
    text = "x" * (LIMIT - 20)
    messages = render_answer(answer(text))
    assert messages[0] == text and messages[1].startswith("**Sources**")


@pytest.mark.parametrize("text", [
    "one very long line without breaks " * 200,
    "a" * 5000,  # no boundary at all: cut hard
    "Sentence one is here. " * 300,
])
def test_split_never_exceeds_the_limit_or_loses_text(text):
    pieces = split_text(text, 500)
    assert all(0 < len(p) <= 500 for p in pieces)
    assert re.sub(r"\s+", "", "".join(pieces)) == re.sub(r"\s+", "", text)


def test_a_code_block_cut_in_two_is_closed_and_reopened():
    text = "Run this:\n\n```bash\n" + "\n".join(f"echo line {n}" for n in range(200)) + "\n```\nDone."
    pieces = split_text(text, 600)
    assert len(pieces) > 2 and all(len(p) <= 600 for p in pieces)
    assert all(p.count("```") % 2 == 0 for p in pieces)
    assert pieces[1].startswith("```bash\n")


def test_buttons_by_mode():
    assert [b.action for b in answer_buttons(answer())] == ["yes", "no", "human"]
    declined = answer_buttons(answer(mode="declined", sources=[]))
    assert [(b.action, b.style) for b in declined] == [("human", "primary")]
    assert answer_buttons(answer(mode="limited", offer_human=False)) == []
    assert [b.label for b in answer_buttons(answer(mode="extractive"))] == ["Helpful", "Not helpful",
                                                                            "Talk to a human"]


def test_streaming_preview_marks_unfinished_text_and_fits():
    assert streaming_preview("Opened items can") == "Opened items can …"
    long = streaming_preview("word " * 1000)
    assert len(long) <= LIMIT and long.endswith(" …")
    assert streaming_preview("Run:\n```\necho hi").count("```") == 2


def escalation(transcript, thread="55"):
    return Escalation(escalation_id="e" * 32, conversation=ConversationKey("discord", "1/55", thread),
                      requested_by="5", question="Where is my refund?", transcript=transcript,
                      last_answer=None, acknowledgement="ok")


def test_escalation_report_has_role_link_question_and_newest_transcript_within_the_limit():
    turns = [Turn("user" if n % 2 == 0 else "assistant", f"turn {n} " + "x" * 400) for n in range(40)]
    report = escalation_report(escalation(turns), support_role_id=77)
    assert len(report) <= LIMIT
    assert report.startswith("<@&77> **Hand-over requested** by <@5>")
    assert "(<https://discord.com/channels/1/55>)" in report and "**Question:** Where is my refund?" in report
    assert "turn 39" in report and "turn 0 " not in report  # the oldest turns make room
    assert report.endswith(f"-# escalation {'e' * 32}")


def test_private_conversations_are_named_as_such_and_resolving_appends_who():
    report = escalation_report(escalation([], thread="ask-5"), support_role_id=None)
    assert report.startswith("**Hand-over requested**") and "privately with /ask" in report
    done = resolved_report("x" * LIMIT, "9")
    assert len(done) <= LIMIT and done.endswith("✅ Resolved by <@9>")
