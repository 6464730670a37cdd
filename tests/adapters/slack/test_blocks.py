"""Pure unit tests: markdown -> mrkdwn, and the Block Kit builders (no app, no network)."""

from __future__ import annotations

import json

from adapters.slack import blocks
from adapters.slack.convert import inquiry_from_command, inquiry_from_message, message_from_event, plain_text
from adapters.slack.mrkdwn import to_mrkdwn
from adapters.slack.refs import ThreadRef
from bot import buttons
from bot.buttons import BadButton
from bot.knowledge.indexer import IndexSummary
from bot.settings import SlackSettings
from bot.types import Answer, Audience, ConversationKey, Escalation, Source
from tests.adapters.worst_cases import SIGNER

SOURCES = [Source(1, "Returns & refunds", "https://shop.test/returns?a=1", "returns", "Opened items"),
           Source(2, "Shipping", "", "shipping")]
REF = ThreadRef("C1", "1700000000.000100", asker="U1", signer=SIGNER)


def answer(mode="generated", text="You can return it within 30 days [1].", sources=SOURCES, offer_human=True):
    return Answer(text=text, sources=list(sources), grounded=mode in ("generated", "extractive"), answer_id="a1",
                  prompt_version="p1", standalone_question="q", mode=mode, offer_human=offer_human)


def actions(built):
    return [(e["text"]["text"], e["action_id"]) for b in built if b["type"] == "actions" for e in b["elements"]]


# ----- mrkdwn ----------------------------------------------------------------------------------

def test_emphasis_headings_lists_and_links_convert():
    converted = to_mrkdwn("# Returns\n**Bold** and *italic* and ~~old~~\n- one\n* two\n[the page](https://x.test/p)",
                          [Source(1, "Page", "https://x.test/p", "p")])
    assert converted == "*Returns*\n*Bold* and _italic_ and ~old~\n• one\n• two\n<https://x.test/p|the page>"


def test_control_characters_are_escaped_but_code_is_left_as_written():
    converted = to_mrkdwn("a < b & c > d `x **y** <z>`\n```\nif a < b: **no**\n```")
    assert converted.startswith("a &lt; b &amp; c &gt; d `x **y** &lt;z&gt;`")
    assert "if a &lt; b: **no**" in converted  # no bold inside a code block


def test_citation_markers_link_to_their_source_when_it_has_a_url():
    converted = to_mrkdwn("Yes [1], see also [2] and [7].", SOURCES)
    assert converted == "Yes <https://shop.test/returns?a=1|[1]>, see also [2] and [7]."


def test_snake_case_and_lone_stars_are_not_emphasis():
    assert to_mrkdwn("use order_id_value and 2 * 3 * 4") == "use order_id_value and 2 * 3 * 4"


def test_link_labels_cannot_break_out_of_the_link():
    assert to_mrkdwn("[a|b>c](https://x.test)", [Source(1, "X", "https://x.test", "x")]) == "<https://x.test|a¦b&gt;c>"


# ----- answers ---------------------------------------------------------------------------------

def test_answer_has_text_numbered_sources_and_feedback_then_human():
    built = blocks.answer_blocks(answer(), REF)
    assert built[0]["type"] == "section" and "<https://shop.test/returns?a=1|[1]>" in built[0]["text"]["text"]
    sources = built[1]["elements"][0]["text"]
    assert sources == ("*Sources*\n1. <https://shop.test/returns?a=1|Returns &amp; refunds> · Opened items\n"
                       "2. Shipping")
    assert actions(built) == [("Helpful", blocks.HELPFUL), ("Not helpful", blocks.NOT_HELPFUL),
                              ("Talk to a human", blocks.TALK_TO_HUMAN)]
    human = built[-1]["elements"][-1]
    assert SIGNER.open(human["value"]) == buttons.ButtonClaim(buttons.HUMAN, "C1", "1700000000.000100", "a1", "U1")
    assert SIGNER.open(built[-1]["elements"][0]["value"]).action == buttons.HELPFUL
    assert "style" not in human


def test_declined_answer_leads_with_a_highlighted_talk_to_a_human():
    built = blocks.answer_blocks(answer("declined", "I couldn't find that in our policies.", []), REF)
    assert [b["type"] for b in built] == ["section", "actions"]  # no sources block
    assert actions(built)[0] == ("Talk to a human", blocks.TALK_TO_HUMAN)
    assert built[-1]["elements"][0]["style"] == "primary"


def test_rate_limited_and_rejected_answers_get_no_feedback_buttons():
    assert actions(blocks.answer_blocks(answer("limited", "Slow down", [], offer_human=False), REF)) == []
    assert actions(blocks.answer_blocks(answer("rejected", "Too long", []), REF)) == [
        ("Talk to a human", blocks.TALK_TO_HUMAN)]


def test_long_answers_are_split_into_sections_within_slack_limits():
    text = "\n\n".join(f"Paragraph {i} " + "word " * 150 for i in range(11))  # 8,400 characters
    built = blocks.answer_blocks(answer(text=text, sources=[]), REF)
    sections = [b for b in built if b["type"] == "section"]
    assert len(sections) > 1 and all(len(s["text"]["text"]) <= blocks.SECTION_CHARS for s in sections)
    assert len(built) <= blocks.MAX_BLOCKS
    assert "".join(s["text"]["text"] for s in sections).count("Paragraph") == 11
    assert all(s["text"]["text"].startswith("Paragraph") for s in sections)  # cut between paragraphs


def test_an_unavailable_index_shows_the_apology_with_only_the_human_button():
    built = blocks.answer_blocks(answer("unavailable", "Sorry, something went wrong.", []), REF)
    assert actions(built) == [("Talk to a human", blocks.TALK_TO_HUMAN)]


def test_apology_has_the_human_button():
    built = blocks.apology_blocks("Sorry, something went wrong <here>.", REF)
    assert built[0]["text"]["text"] == "Sorry, something went wrong &lt;here&gt;."
    assert actions(built) == [("Talk to a human", blocks.TALK_TO_HUMAN)]


def test_every_button_value_fits_slack_limit():
    built = blocks.answer_blocks(answer(), ThreadRef("C" * 20, "1" * 20, "a" * 32, asker="U" * 20, signer=SIGNER))
    assert all(len(e["value"]) <= 2000 for b in built if b["type"] == "actions" for e in b["elements"])


# ----- hand-over ---------------------------------------------------------------------------------

def escalation(last_answer=None) -> Escalation:
    return Escalation(escalation_id="e1", conversation=ConversationKey("slack", "C1", "1700000000.000100"),
                      requested_by="U1", question="Can I return <this>?", transcript=[],
                      last_answer=last_answer, acknowledgement="A person will follow up.")


def test_escalation_post_has_asker_question_answer_sources_link_mention_and_resolve():
    built = blocks.escalation_blocks(escalation(answer()), permalink="https://t.slack.com/archives/C1/p1",
                                     support_mention=blocks.support_mention("S0SUPPORT"), resolve_value="sealed-e1")
    text = json.dumps(built)
    for expected in ("<!subteam^S0SUPPORT> <@U1>", "> Can I return &lt;this&gt;?", "The bot's answer",
                     "*Sources*", "<https://t.slack.com/archives/C1/p1|Open the thread>"):
        assert expected in text, expected
    assert actions(built) == [("Mark resolved", blocks.MARK_RESOLVED)]
    assert built[-1]["elements"][0]["value"] == "sealed-e1"


def test_resolved_post_drops_the_button_and_names_the_resolver():
    built = blocks.escalation_blocks(escalation(), permalink="", support_mention="", resolve_value="r")
    resolved = blocks.resolved_blocks(built, "U9")
    assert actions(resolved) == [] and "Resolved by <@U9>" in json.dumps(resolved)
    assert "Thread 1700000000.000100" in json.dumps(built)


def test_support_mention_forms():
    assert blocks.support_mention("S123") == "<!subteam^S123>"
    assert blocks.support_mention("U123") == "<@U123>"
    assert blocks.support_mention("") == ""


def test_reindex_texts():
    progress = blocks.reindex_progress_text("embed", 32, 92)
    assert progress == ":arrows_counterclockwise: Reindex: Embedding passages 32/92"
    summary = IndexSummary(generation=4, added=1, updated=2, unchanged=8, deleted=0, chunks_embedded=12,
                           chunks_total=92, documents_total=11, seconds=3.25)
    text = blocks.reindex_summary_text(summary)
    assert "generation 4" in text and "1 added, 2 updated, 8 unchanged, 0 deleted (11 in all)" in text
    assert "12 embedded, 92 in the index" in text and "3.2 s" in text


# ----- conversion ------------------------------------------------------------------------------

def test_plain_text_removes_the_bot_mention_and_unescapes():
    text = "<@U0BOT> is 5 &lt; 6 &amp; <https://x.test/a|this page> or <https://y.test> <@U2>?"
    assert plain_text(text, "U0BOT") == "is 5 < 6 & this page (https://x.test/a) or https://y.test @U2?"


def test_audience_and_admin_come_from_settings_by_id():
    slack = SlackSettings(staff_channels=["CSTAFF"], admin_users=["UADMIN"])
    event = {"channel": "CSTAFF", "user": "UADMIN", "text": "hi", "ts": "1.1", "channel_type": "channel"}
    staff = inquiry_from_message(message_from_event(event, team="T1"), slack, bot_user_id="U0BOT")
    assert staff.audience is Audience.STAFF and staff.is_admin
    assert staff.tenant == "T1"  # the workspace: whose knowledge base, when there is one per team
    assert staff.conversation == ConversationKey("slack", "CSTAFF", "1.1")
    public = inquiry_from_message(message_from_event({**event, "channel": "CSHARED", "user": "UX",
                                                      "thread_ts": "0.9"}), slack, bot_user_id="U0BOT")
    assert public.audience is Audience.PUBLIC and not public.is_admin
    assert public.conversation.thread == "0.9"
    asked = inquiry_from_command({"channel_id": "CSTAFF", "user_id": "UX", "text": "q"}, slack)
    assert asked.audience is Audience.STAFF and asked.conversation.thread == "ask-UX"
    assert asked.tenant is None


def test_a_foreign_button_value_is_refused_clearly():
    try:
        SIGNER.open("garbage")
    except BadButton as exc:
        assert "not signed by this bot" in str(exc) and exc.reply == buttons.FORGED
    else:
        raise AssertionError("expected BadButton")
