"""Classes 1, 2 and 7 of issue 11 on Discord, through discord.py against the strict fake: a
customer's words reach the staff channel inert (no mention, no masked link, no forged line), the
model's reply links only to its sources without embeds, documents cannot add mentions or links,
and odd text is still delivered."""

from __future__ import annotations

import pytest

from bot.answering.links import safe_url
from tests.adapters.discord.conftest import (  # noqa: F401  (fixtures)
    ESCALATION_CHANNEL,
    SUPPORT_CHANNEL,
    api,
    redis_prefix,
    start_client,
)
from tests.fakes.discord_payloads import custom_ids, thread_payload
from tests.security import attacks
from tests.security.discord_checks import problems, shown
from tests.security.test_render_slack import MODEL_CASES, _knowledge_base_urls

SUPPRESS_EMBEDS = 1 << 2


def answers_in(api, channel_id):
    return [m for m in api.posted(channel_id) if custom_ids(m)]


@pytest.mark.parametrize("text", attacks.DISCORD_CUSTOMER.values(), ids=attacks.DISCORD_CUSTOMER.keys())
async def test_a_customer_question_reaches_the_staff_channel_inert(start_client, api, text):
    bot = await start_client()
    thread_id = bot.message(text)["id"]
    [answer] = await api.wait_for(lambda: answers_in(api, thread_id))
    human = next(i for i in custom_ids(answer) if i.startswith("sb:human:"))
    bot.press(human, answer, channel=thread_payload(int(thread_id), SUPPORT_CHANNEL, "t"))
    [report] = await api.wait_for(lambda: api.posted(ESCALATION_CHANNEL))
    assert "**Hand-over requested**" in report["content"]
    assert problems(api, _knowledge_base_urls(), quoting=True) == []
    [post] = [c for c in api.calls_to("POST", "/channels/{id}/messages") if c.ids == [str(ESCALATION_CHANNEL)]]
    assert post.json["flags"] & SUPPRESS_EMBEDS


@pytest.mark.parametrize("text", MODEL_CASES.values(), ids=MODEL_CASES.keys())
async def test_a_model_reply_links_only_its_source_and_pings_nobody(start_client, api, monkeypatch, text):
    bot = await start_client()
    monkeypatch.setattr(bot.support, "answer", attacks.crafted(attacks.answer(text)))
    thread_id = bot.message("How do refunds work?")["id"]
    await api.wait_for(lambda: answers_in(api, thread_id))
    assert problems(api, {attacks.SOURCE_URL}) == []
    assert attacks.EVIL not in shown(api)
    posts = [c for c in api.calls_to("POST", "/channels/{id}/messages") if c.ids == [thread_id]]
    assert posts and all(c.json["flags"] & SUPPRESS_EMBEDS for c in posts)


@pytest.mark.parametrize("text", attacks.ALLOWED.values(), ids=attacks.ALLOWED.keys())
async def test_a_link_to_the_answers_own_source_stays_a_link_without_embed(start_client, api, monkeypatch, text):
    bot = await start_client()
    monkeypatch.setattr(bot.support, "answer", attacks.crafted(attacks.answer(text)))
    thread_id = bot.message("How do refunds work?")["id"]
    [answer] = await api.wait_for(lambda: answers_in(api, thread_id))
    assert f"<{attacks.SOURCE_URL}>" in answer["content"].split("**Sources**")[0]  # <url>: a link, no embed


@pytest.mark.parametrize("source", attacks.DOCUMENT_SOURCES.values(), ids=attacks.DOCUMENT_SOURCES.keys())
async def test_a_documents_title_and_url_cannot_add_mentions_or_links(start_client, api, monkeypatch, source):
    bot = await start_client()
    reply = attacks.answer("Refunds take 5 days [1].", sources=[source])
    monkeypatch.setattr(bot.support, "answer", attacks.crafted(reply))
    thread_id = bot.message("How do refunds work?")["id"]
    [answer] = await api.wait_for(lambda: answers_in(api, thread_id))
    assert problems(api, {attacks.SOURCE_URL, safe_url(source.url)}) == []
    assert "Refunds take 5 days" in answer["content"] and "**Sources**" in answer["content"]


@pytest.mark.parametrize("text", attacks.ODD.values(), ids=attacks.ODD.keys())
async def test_odd_text_in_a_private_answer_is_still_delivered(start_client, api, monkeypatch, text):
    bot = await start_client()
    monkeypatch.setattr(bot.support, "answer", attacks.crafted(attacks.answer(text)))
    bot.command("ask", {"question": "How do refunds work?"})
    await api.wait_for(lambda: any("sb:yes:" in str(c.json) for c in api.calls
                                   if c.method in ("PATCH", "POST") and "webhooks" in c.route))
    assert problems(api, {attacks.SOURCE_URL}) == []
