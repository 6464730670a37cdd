"""Every Discord payload fits Discord's limits by construction: pure checks against the fake's own
rules, then the worst cases end to end through the strict fake."""

from __future__ import annotations

import re

import pytest

from adapters.discord.convert import ask_conversation, conversation_at, thread_name
from adapters.discord.text import answer_text
from adapters.discord.render import ATOMS, LIMIT, escalation_report, render_answer, render_sources, split_text
from adapters.discord.views import Sealing, answer_view, apology_view
from tests.adapters import worst_cases
from tests.adapters.discord.conftest import ESCALATION_CHANNEL, SUPPORT_CHANNEL, settle
from tests.fakes.discord_payloads import GUILD_ID, custom_ids, thread_payload
from tests.fakes.discord_rules import check_message

BIGGEST_SNOWFLAKE = 2**63 - 1


def intact(text: str) -> bool:
    """No masked link or mention cut in half: none left open at the end of a piece or closed at its
    start (text that only looks like markup, such as "<a & b>", is plain text to Discord)."""
    without = ATOMS.sub("", text)
    return ("](" not in without and not re.search(r"<(?:[@#]|https?:)[^\s<>]*\Z", without)
            and not re.match(r"\A[^\s<\[]*\]\(|\A[^\s<]*>", without))


@pytest.mark.parametrize("text", worst_cases.ADVERSARIAL, ids=lambda t: repr(t[:20]))
def test_any_answer_is_split_within_the_limit_without_cutting_links(text):
    messages = render_answer(worst_cases.answer(text=text))
    assert all(0 < len(m) <= LIMIT and intact(m) for m in messages)
    for message in messages:
        check_message({"content": message}, creating=True)  # the fake's own rules


def test_a_6000_character_answer_keeps_every_word_and_ends_with_its_sources():
    text = worst_cases.long_answer_text()
    sources = [*worst_cases.long_sources(), worst_cases.returns_page()]
    messages = render_answer(worst_cases.answer(text=text, sources=sources))
    assert len(messages) >= 4 and all(len(m) <= LIMIT and intact(m) for m in messages)
    body = "\n\n".join(messages).split("**Sources**")[0]
    rendered = answer_text(text, sources)  # the source link, written without an embed: <url>
    assert "(<https://help.example.test/returns?a=1&b=2>)" in rendered
    assert re.sub(r"\s+", "", body).replace("```", "") == re.sub(r"\s+", "", rendered).replace("```", "")
    assert messages[-1].startswith("**Sources**")


def test_ten_long_sources_are_summarised_not_dropped():
    text = render_sources(worst_cases.long_sources())
    assert len(text) <= LIMIT and intact(text)
    shown = re.findall(r"^\[(\d+)\] \[", text, re.M)
    more = re.search(r"…and (\d+) more sources", text)
    assert more and len(shown) + int(more.group(1)) == 10


def test_split_text_never_cuts_a_link():
    text = " ".join(f"[source number {n} with a long title](<https://example.test/{n}>)" for n in range(200))
    assert all(intact(piece) and len(piece) <= 500 for piece in split_text(text, 500))


def test_a_hand_over_report_fits_with_a_4000_character_question_and_40_long_turns():
    report = escalation_report(worst_cases.escalation(conversation_at(BIGGEST_SNOWFLAKE, BIGGEST_SNOWFLAKE)),
                               support_role_id=BIGGEST_SNOWFLAKE)
    assert len(report) <= LIMIT and intact(report)
    check_message({"content": report}, creating=True)


def test_thread_names_and_button_ids_fit_with_the_largest_ids():
    assert len(thread_name(worst_cases.long_question())) <= 100
    sealing = Sealing(worst_cases.SIGNER, str(BIGGEST_SNOWFLAKE))
    views = [answer_view(worst_cases.answer(), sealing), answer_view(worst_cases.answer(mode="declined"), sealing),
             apology_view(ask_conversation(BIGGEST_SNOWFLAKE, BIGGEST_SNOWFLAKE, BIGGEST_SNOWFLAKE), sealing),
             apology_view(conversation_at(BIGGEST_SNOWFLAKE, BIGGEST_SNOWFLAKE), sealing)]
    for view in views:
        body = {"content": "x", "components": view.to_components()}
        check_message(body, creating=True)
        assert all(len(i) <= 100 for i in custom_ids(body))


# ----- end to end through the strict fake ----------------------------------------------------------

async def test_worst_case_answer_and_hand_over_are_accepted_by_discord(start_client, api, monkeypatch):
    bot = await start_client()

    async def answer(inquiry, on_delta=None):
        return worst_cases.answer()

    monkeypatch.setattr(bot.support, "answer", answer)
    asked = bot.message(worst_cases.long_question())
    thread_id = asked["id"]
    [last] = await api.wait_for(lambda: [m for m in api.posted(thread_id) if custom_ids(m)])
    assert len(api.posted(thread_id)) >= 4 and "more sources" in last["content"]
    [opened] = api.calls_to("POST", "/channels/{id}/messages/{id}/threads")
    assert len(opened.json["name"]) <= 100

    async def escalate(conversation, requested_by, answer_id=None):
        return worst_cases.escalation(conversation)

    async def find_answer(answer_id):  # the answer was never stored: the test made it up
        return conversation_at(GUILD_ID, int(thread_id)), worst_cases.answer()

    monkeypatch.setattr(bot.support, "escalate", escalate)
    monkeypatch.setattr(bot.support.records, "find_answer", find_answer)
    human = next(i for i in custom_ids(last) if i.startswith("sb:human:"))
    bot.press(human, last, channel=thread_payload(int(thread_id), SUPPORT_CHANNEL, "t"))
    [report] = await api.wait_for(lambda: api.posted(ESCALATION_CHANNEL))
    await settle()
    assert "**Question:**" in report["content"] and not api.rejected()
