"""Slash commands: /ask answers privately after deferring; /reindex is for admins, one at a time,
answered at once and reported by DM (it may outlast the interaction's 15-minute token)."""

from __future__ import annotations

import asyncio

from adapters.discord.cogs.commands import NOT_ADMIN
from bot.state.guards import Lock
from tests.adapters.discord.conftest import ADMIN_ROLE, AGENT, CUSTOMER, MANAGE_GUILD, settle
from tests.conftest import make_settings
from tests.fakes.discord_payloads import custom_ids


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


def dm_messages(api, user_id) -> list[dict]:
    """What the bot sent to a user's DMs (progress edited in place, then the summary)."""
    dms = [c["id"] for c in api.channels.values() if c.get("type") == 1 and c["recipients"][0]["id"] == str(user_id)]
    return [m for channel in dms for m in api.posted(channel)]


async def test_reindex_is_visible_to_every_configured_admin(start_client, api):
    await start_client()
    [registered] = api.calls_to("PUT", "/applications/{id}/commands")
    reindex = next(c for c in registered.json if c["name"] == "reindex")
    # No default permission: admins by role or user id would not even see the command otherwise.
    assert reindex.get("default_member_permissions") is None


async def test_an_admin_reindex_is_answered_at_once_and_reported_by_dm(start_client, api, tmp_path, small_kb):
    bot = await start_client(settings=make_settings(tmp_path, small_kb))
    by_role = bot.command("reindex", roles=(ADMIN_ROLE,))
    # A small reindex can finish before the reply is sent (the reply waits up to BUSY_WAIT_S to
    # hear of a refusal), so wait for both rather than assuming the order.
    summary = await api.wait_for(lambda: [m for m in dm_messages(api, CUSTOMER["id"])
                                          if m["content"].startswith("✅")], timeout=60)
    await api.wait_for(lambda: token_calls(api, by_role), timeout=10)
    [reply] = token_calls(api, by_role)
    assert reply.json["type"] == 4 and reply.json["data"]["flags"] == 64  # answered, privately, at once
    assert "Reindex started" in reply.json["data"]["content"]
    progress, final = dm_messages(api, CUSTOMER["id"])
    assert progress["content"].startswith("⏳ Embedding passages: ")  # one message, edited per stage
    assert final is summary[0] and "3 added" in final["content"]
    assert bot.support.index.generation() == 1

    bot.command("reindex", user=AGENT, permissions=MANAGE_GUILD)  # admin by server permission
    await api.wait_for(lambda: [m for m in dm_messages(api, AGENT["id"]) if m["content"].startswith("✅")], timeout=60)
    assert bot.support.index.generation() == 2


async def test_a_reindex_longer_than_an_interaction_token_still_reports(start_client, api, monkeypatch):
    bot = await start_client()
    release = asyncio.Event()

    async def slow_reindex(**kwargs):
        await kwargs["on_progress"]("embed", 1, 2)
        await release.wait()
        await kwargs["on_progress"]("embed", 2, 2)
        raise RuntimeError("stopped by the test")

    monkeypatch.setattr(bot.support, "run_reindex", slow_reindex)
    command = bot.command("reindex", roles=(ADMIN_ROLE,))
    await api.wait_for(lambda: dm_messages(api, CUSTOMER["id"]) and token_calls(api, command))
    api.advance(20 * 60)  # the interaction's token has expired
    release.set()
    await settle()
    await api.wait_for(lambda: any(m["content"].startswith("❌") for m in dm_messages(api, CUSTOMER["id"])))
    assert [c.route for c in token_calls(api, command)] == ["/interactions/{id}/{token}/callback"]


async def test_a_second_reindex_while_one_runs_is_refused_with_who_started_it(start_client, api, tmp_path,
                                                                              small_kb):
    bot = await start_client(settings=make_settings(tmp_path, small_kb))
    held = Lock(bot.support.state.redis, "reindex", ttl_s=60)
    assert await held.acquire("Robin")  # another worker's reindex
    busy = bot.command("reindex", roles=(ADMIN_ROLE,))
    await settle()
    [reply] = token_calls(api, busy)
    assert "started by Robin" in reply.json["data"]["content"] and reply.json["data"]["flags"] == 64
    assert bot.support.index.generation() == 0 and dm_messages(api, CUSTOMER["id"]) == []
    await held.release()
