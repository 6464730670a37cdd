"""Slash commands: /ask answers privately after deferring; /reindex is for admins, one at a time."""

from __future__ import annotations

from adapters.discord.cogs.commands import NOT_ADMIN
from bot.state.guards import Lock
from tests.adapters.discord.conftest import ADMIN_ROLE, AGENT, MANAGE_GUILD, settle
from tests.conftest import make_settings
from tests.fakes.discord_api import custom_ids


def token_calls(api, interaction):
    """Everything the bot did with this interaction's token, in order."""
    return [c for c in api.calls if interaction["token"] in c.ids]


async def test_ask_is_deferred_then_followed_up_privately(start_client, api):
    bot = await start_client()
    ask = bot.command("ask", {"question": "How long is the warranty?"})
    await api.wait_for(lambda: custom_ids(api.originals.get(ask["token"], {})))
    await settle()
    calls = token_calls(api, ask)
    first = calls[0]
    assert (first.method, first.route) == ("POST", "/interactions/{id}/{token}/callback")
    assert first.json == {"type": 5, "data": {"flags": 64}}  # deferred, ephemeral, "thinking…"
    assert {(c.method, c.route) for c in calls[1:]} == {("PATCH", "/webhooks/{id}/{token}/messages/@original")}
    answer = api.originals[ask["token"]]
    assert "**Sources**" in answer["content"] and any(i.startswith("sb:human:") for i in custom_ids(answer))
    assert api.calls_to("POST", "/channels/{id}/messages/{id}/threads") == []  # nothing public


async def test_a_non_admin_reindex_is_refused_without_running(start_client, api):
    bot = await start_client()
    generation = bot.support.index.generation()
    refused = bot.command("reindex", {"full": True})
    await settle()
    [reply] = token_calls(api, refused)
    assert reply.json["type"] == 4  # answered at once, not deferred
    assert reply.json["data"]["content"] == NOT_ADMIN and reply.json["data"]["flags"] == 64
    assert bot.support.index.generation() == generation


async def test_an_admin_reindex_is_deferred_and_reports_progress_and_summary(start_client, api, tmp_path,
                                                                             small_kb):
    bot = await start_client(settings=make_settings(tmp_path, small_kb))
    by_role = bot.command("reindex", roles=(ADMIN_ROLE,))
    summary = await api.wait_for(lambda: api.interaction_messages.get(by_role["token"]), timeout=60)
    calls = token_calls(api, by_role)
    assert calls[0].json == {"type": 5, "data": {"flags": 64}}
    progress = [c.json["content"] for c in calls if c.route.endswith("@original")]
    assert progress and progress[-1].startswith("⏳ Embedding passages: ")
    assert summary[0]["content"].startswith("✅ Reindex finished") and "3 added" in summary[0]["content"]
    assert bot.support.index.generation() == 1

    by_permission = bot.command("reindex", user=AGENT, permissions=MANAGE_GUILD)
    await api.wait_for(lambda: api.interaction_messages.get(by_permission["token"]), timeout=60)
    assert bot.support.index.generation() == 2


async def test_a_second_reindex_while_one_runs_is_refused_with_who_started_it(start_client, api, tmp_path,
                                                                              small_kb):
    bot = await start_client(settings=make_settings(tmp_path, small_kb))
    held = Lock(bot.support.state.redis, "reindex", ttl_s=60)
    assert await held.acquire("Robin")  # another worker's reindex
    busy = bot.command("reindex", roles=(ADMIN_ROLE,))
    [reply] = await api.wait_for(lambda: api.interaction_messages.get(busy["token"]))
    assert "started by Robin" in reply["content"] and bot.support.index.generation() == 0
    await held.release()
