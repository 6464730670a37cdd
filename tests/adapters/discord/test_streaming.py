"""Claude's answer streamed into Discord: bounded edits, long answers split, model failures."""

from __future__ import annotations

import pytest

from adapters.discord.render import LIMIT
from bot.answering.generation import ClaudeAnswerer
from tests.adapters.discord.conftest import settle
from tests.fakes.anthropic_server import HttpError, Reply, StreamError
from tests.fakes.discord_payloads import GUILD_ID, custom_ids, sealed_fields

INTERVAL = 0.3  # discord_settings() in conftest


@pytest.fixture
def start_with_claude(start_client, sample_settings, claude):
    async def start(**overrides):
        settings = sample_settings.model_copy(update={
            "anthropic_api_key": "test-key",
            "llm": sample_settings.llm.model_copy(update={"base_url": claude.base_url, "max_retries": 0,
                                                          "timeout_s": 10, "model": "claude-test"}),
        })
        return await start_client(answerer=ClaudeAnswerer(settings), settings=settings, **overrides)

    return start


async def test_the_answer_is_edited_in_as_it_streams_at_a_bounded_rate(start_with_claude, claude, api):
    sentence = "Opened items can be returned within 30 days if they are unused [1]. "
    claude.queue(Reply(sentence * 12, chunk_size=6, delay=0.01))  # ~130 pieces over ~1.5 s
    bot = await start_with_claude()
    thread_id = bot.message("Can I return an opened item after 30 days?")["id"]
    [final] = await api.wait_for(lambda: [m for m in api.posted(thread_id) if custom_ids(m)])

    posts = [c for c in api.calls_to("POST", "/channels/{id}/messages") if c.ids == [thread_id]]
    edits = [c for c in api.calls_to("PATCH", "/channels/{id}/messages/{id}") if c.ids[0] == thread_id]
    assert len(posts) == 1  # the streamed message is the answer: edited, never reposted
    assert posts[0].json["content"].endswith(" …")  # shown while still arriving
    previews = [posts[0]] + [e for e in edits if e.json["content"].endswith(" …")]
    assert len(previews) >= 2 and edits[-1].json["components"]  # the final edit adds the buttons
    assert all(b.at - a.at >= INTERVAL * 0.95 for a, b in zip(previews, previews[1:]))
    assert final["content"].startswith("Opened items can be returned") and "**Sources**" in final["content"]


async def test_a_long_answer_is_split_with_the_sources_and_buttons_last(start_with_claude, claude, api):
    paragraph = ("Unused items in their original packaging can be returned within 30 days of delivery "
                 "for a full refund to the original payment method [1]. ") * 5
    text = "\n\n".join(f"Part {n}. {paragraph}" for n in range(1, 10))  # ~4,900 characters
    claude.queue(Reply(text, chunk_size=400))
    bot = await start_with_claude()
    thread_id = bot.message("Can I return unused items in their original packaging for a full refund?")["id"]
    await api.wait_for(lambda: [m for m in api.posted(thread_id) if custom_ids(m)])
    await settle()
    messages = api.posted(thread_id)
    assert len(messages) >= 3 and all(len(m["content"]) <= LIMIT for m in messages)
    assert [bool(custom_ids(m)) for m in messages] == [False] * (len(messages) - 1) + [True]
    assert "**Sources**" in messages[-1]["content"]
    body = "\n\n".join(m["content"] for m in messages).split("**Sources**")[0]
    assert [f"Part {n}." in body for n in range(1, 10)] == [True] * 9
    assert all(m["content"].split("\n")[0].startswith("Part ") for m in messages[:-1])  # cut at paragraphs


async def test_a_model_error_still_answers_from_the_policy_with_the_buttons(start_with_claude, claude, api):
    claude.queue(HttpError(500, "api_error", "boom"), HttpError(500, "api_error", "boom"))
    bot = await start_with_claude()
    thread_id = bot.message("Do you ship to Canada?")["id"]
    [answer] = await api.wait_for(lambda: [m for m in api.posted(thread_id) if custom_ids(m)])
    assert claude.requests  # the model was asked and failed
    assert "**Sources**" in answer["content"]
    assert any(i.startswith("sb:human:") for i in custom_ids(answer))


async def test_a_model_failure_mid_stream_replaces_the_partial_text(start_with_claude, claude, api):
    claude.queue(StreamError("Opened items are only returnable when", chunk_size=4))
    bot = await start_with_claude(edit_interval_s=0.2)
    thread_id = bot.message("Can I return an opened item after 30 days?")["id"]
    [answer] = await api.wait_for(lambda: [m for m in api.posted(thread_id) if custom_ids(m)])
    assert "only returnable when" not in answer["content"]
    assert "Here is what our policy says" in answer["content"]


async def test_a_failure_the_service_cannot_absorb_gives_an_apology_with_the_button(start_client, api,
                                                                                      monkeypatch):
    bot = await start_client()

    def broken(*args, **kwargs):
        raise RuntimeError("index files are corrupt")

    monkeypatch.setattr(bot.support.retriever, "retrieve", broken)
    thread_id = bot.message("Do you ship to Canada?")["id"]
    [apology] = await api.wait_for(lambda: [m for m in api.posted(thread_id) if custom_ids(m)])
    assert apology["content"] == bot.support.apology()
    # No answer was saved, so the button carries the conversation itself.
    [human] = custom_ids(apology)
    fields = sealed_fields(human)
    assert (fields["kind"], fields["channel"], fields["thread"]) == ("human", f"{GUILD_ID}/{thread_id}", "=")
