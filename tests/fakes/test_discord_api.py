"""Self-tests of the Discord fake: through discord.py's own HTTP client, it refuses what Discord refuses.

One test per documented limit or rule, each checking Discord's error code (and, for form errors,
the nested `errors` object), so a fake that went lenient fails here first.
"""

from __future__ import annotations

import aiohttp
import discord
import pytest
from discord.http import Route

from tests.fakes.discord_api import BOT_TOKEN, DiscordAPI
from tests.fakes.discord_payloads import (
    BOT_ID,
    CUSTOMER_ID,
    channel_payload,
    interaction_payload,
    message_payload,
    user_payload,
)
from tests.fakes.discord_rules import fact, rules

CHANNEL = 1_300_000_000_000_000_101
USER = user_payload(CUSTOMER_ID, "casey")


@pytest.fixture
async def api(monkeypatch):
    server = await DiscordAPI().start()
    server.add_channel(channel_payload(CHANNEL, "support"))
    monkeypatch.setattr(discord.http.Route, "BASE", server.base)
    yield server
    await server.stop()


@pytest.fixture
async def http(api):
    client = discord.http.HTTPClient(aiohttp.TCPConnector(limit=0))
    await client.static_login(BOT_TOKEN)
    yield client
    await client.close()


def button(custom_id="sb:x", label="Go", style=2) -> dict:
    return {"type": 2, "style": style, "label": label, "custom_id": custom_id}


def row(*buttons: dict) -> dict:
    return {"type": 1, "components": list(buttons)}


async def post(http, body: dict, channel: int = CHANNEL):
    return await http.request(Route("POST", "/channels/{channel_id}/messages", channel_id=channel), json=body)


async def refused(call) -> discord.HTTPException:
    with pytest.raises(discord.HTTPException) as caught:
        await call
    return caught.value


def test_the_rules_table_names_its_sources():
    table = rules()
    assert table["header"]["generated_by"] == "scripts/extract_platform_rules.py"
    assert all(":" in item["source"] or "openapi" in item["source"] for item in table["limits"].values())
    assert "POST /channels/{id}/messages" in table["routes"]


async def test_a_good_message_is_posted_with_string_snowflakes(http, api):
    sent = await post(http, {"content": "hi", "components": [row(button())]})
    assert isinstance(sent["id"], str) and sent["channel_id"] == str(CHANNEL)
    assert api.posted(CHANNEL)[0]["content"] == "hi"


async def test_the_form_error_shape_is_discords(api):
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{api.base}/channels/{CHANNEL}/messages", json={"content": "x" * 2001},
                                headers={"Authorization": f"Bot {BOT_TOKEN}"}) as response:
            assert response.status == 400
            assert await response.json() == {"message": "Invalid Form Body", "code": 50035, "errors": {
                "content": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 2000 or fewer in length."}]}}}


# ----- routes, auth, what exists ---------------------------------------------------------------

async def test_unknown_routes_and_missing_tokens_are_refused(http, api):
    error = await refused(http.request(Route("POST", "/channels/{channel_id}/mesages", channel_id=CHANNEL), json={}))
    assert error.status == 404
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{api.base}/channels/{CHANNEL}/messages", json={"content": "hi"}) as response:
            assert response.status == 401


async def test_unknown_channels_and_messages(http, api):
    assert (await refused(post(http, {"content": "hi"}, channel=999))).code == 10003
    edit = Route("PATCH", "/channels/{channel_id}/messages/{message_id}", channel_id=CHANNEL, message_id=5)
    assert (await refused(http.request(edit, json={"content": "x"}))).code == 10008


async def test_someone_elses_message_cannot_be_edited(http, api):
    api.add_user_message(message_payload(77, CHANNEL, "mine", author=USER))
    edit = Route("PATCH", "/channels/{channel_id}/messages/{message_id}", channel_id=CHANNEL, message_id=77)
    assert (await refused(http.request(edit, json={"content": "x"}))).code == 50005


# ----- message limits ------------------------------------------------------------------------------

@pytest.mark.parametrize("name, body, field", [
    ("2,001 characters", {"content": "x" * (fact("message.content.max") + 1)}, "content"),
    ("2,500 characters", {"content": "x" * 2500}, "content"),
    ("6 action rows", {"content": "x", "components": [row(button(f"b{n}")) for n in range(6)]}, "components"),
    ("6 buttons in a row", {"content": "x", "components": [row(*(button(f"b{n}") for n in range(6)))]},
     "components.0.components"),
    ("an empty action row", {"content": "x", "components": [row()]}, "components.0.components"),
    ("a 101-character custom_id", {"content": "x", "components": [row(button("c" * 101))]},
     "components.0.components.0.custom_id"),
    ("duplicate custom_ids", {"content": "x", "components": [row(button("same"), button("same"))]},
     "components.0.components.1.custom_id"),
    ("150-character duplicate custom_ids", {"content": "x", "components": [row(button("c" * 150), button("c" * 150))]},
     "components.0.components.0.custom_id"),
    ("an 81-character label", {"content": "x", "components": [row(button(label="l" * 81))]},
     "components.0.components.0.label"),
    ("a button style that does not exist", {"content": "x", "components": [row(button(style=9))]},
     "components.0.components.0.style"),
    ("a button without a custom_id", {"content": "x", "components": [row({"type": 2, "style": 1, "label": "x"})]},
     "components.0.components.0.custom_id"),
    ("roles both parsed and listed", {"content": "x", "allowed_mentions": {"parse": ["roles"], "roles": ["1"]}},
     "allowed_mentions.roles"),
    ("a role id that is no snowflake", {"content": "x", "allowed_mentions": {"parse": [], "roles": ["abc"]}},
     "allowed_mentions.roles.0"),
])
async def test_messages_beyond_the_documented_limits_are_refused(api, name, body, field):
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{api.base}/channels/{CHANNEL}/messages", json=body,
                                headers={"Authorization": f"Bot {BOT_TOKEN}"}) as response:
            answer = await response.json()
    assert (response.status, answer["code"]) == (400, 50035), name
    node = answer["errors"]
    for part in field.split("."):
        node = node[part]
    assert node["_errors"][0]["code"], name


async def test_an_empty_message_is_refused(http):
    assert (await refused(post(http, {"content": ""}))).code == 50006


async def test_a_message_at_the_limits_is_accepted(http):
    rows = [row(*(button(f"r{r}b{b}".ljust(100, "x"), label="l" * 80) for b in range(5))) for r in range(5)]
    assert (await post(http, {"content": "x" * 2000, "components": rows}))["id"]


# ----- threads -------------------------------------------------------------------------------------

async def test_thread_names_archive_durations_and_one_thread_per_message(http, api):
    api.add_user_message(message_payload(88, CHANNEL, "question", author=USER))
    start = Route("POST", "/channels/{channel_id}/messages/{message_id}/threads", channel_id=CHANNEL, message_id=88)
    assert (await refused(http.request(start, json={"name": "n" * 101}))).code == 50035
    assert (await refused(http.request(start, json={"name": "ok", "auto_archive_duration": 42}))).code == 50035
    thread = await http.request(start, json={"name": "n" * 100, "auto_archive_duration": 1440})
    assert thread["id"] == "88" and thread["type"] == 11
    assert (await refused(http.request(start, json={"name": "again"}))).code == 160004
    missing = Route("POST", "/channels/{channel_id}/messages/{message_id}/threads", channel_id=CHANNEL, message_id=89)
    assert (await refused(http.request(missing, json={"name": "x"}))).code == 10008


# ----- interactions --------------------------------------------------------------------------------

def new_interaction(api, kind: int = 2) -> dict:
    payload = interaction_payload(kind, {"name": "ask"} if kind == 2 else {"custom_id": "sb:x", "component_type": 2},
                                  user=USER, channel=channel_payload(CHANNEL, "support"),
                                  message=message_payload(90, CHANNEL, "m", author=user_payload(BOT_ID, "bot"))
                                  if kind == 3 else None)
    api.interaction(payload)
    return payload


def callback(payload: dict) -> Route:
    return Route("POST", "/interactions/{id}/{token}/callback", id=payload["id"], token=payload["token"])


def followup(payload: dict) -> Route:
    return Route("POST", "/webhooks/{id}/{token}", id=payload["application_id"], token=payload["token"])


async def test_one_initial_callback_per_interaction(http, api):
    payload = new_interaction(api)
    await http.request(callback(payload), json={"type": 5, "data": {"flags": 64}})
    assert (await refused(http.request(callback(payload), json={"type": 4, "data": {"content": "x"}}))).code == 40060


async def test_callback_types_must_exist_and_fit_the_interaction(http, api):
    assert (await refused(http.request(callback(new_interaction(api)), json={"type": 42}))).code == 50035
    assert (await refused(http.request(callback(new_interaction(api)), json={"type": 7, "data": {}}))).code == 50035
    assert await http.request(callback(new_interaction(api, kind=3)), json={"type": 6}) is not None


async def test_the_initial_callback_must_come_within_three_seconds(http, api):
    payload = new_interaction(api)
    api.advance(fact("interaction.initial_response_seconds") + 0.1)
    error = await refused(http.request(callback(payload), json={"type": 5}))
    assert (error.status, error.code) == (404, 10062)


async def test_follow_ups_need_an_acknowledged_interaction_and_a_live_token(http, api):
    payload = new_interaction(api)
    early = await refused(http.request(followup(payload), json={"content": "x"}))
    assert (early.status, early.code) == (404, 10015)
    await http.request(callback(payload), json={"type": 5})
    assert (await http.request(followup(payload), json={"content": "x"}))["id"]
    api.advance(60 * fact("interaction.token_minutes") + 1)
    late = await refused(http.request(followup(payload), json={"content": "x"}))
    assert (late.status, late.code) == (401, 50027)


async def test_interaction_responses_obey_message_limits(http, api):
    payload = new_interaction(api)
    error = await refused(http.request(callback(payload), json={"type": 4, "data": {"content": "x" * 2001}}))
    assert error.code == 50035


# ----- commands and DMs ----------------------------------------------------------------------------

async def test_command_registration_checks_names_and_descriptions(http):
    route = Route("PUT", "/applications/{application_id}/commands", application_id=1)
    assert (await refused(http.request(route, json=[{"name": "Ask Me", "description": "x"}]))).code == 50035
    assert (await refused(http.request(route, json=[{"name": "ask", "description": "d" * 101}]))).code == 50035
    assert (await refused(http.request(route, json=[{"name": "ask", "description": "x",
                                                     "default_member_permissions": "manage"}]))).code == 50035
    assert await http.request(route, json=[{"name": "reindex", "description": "Refresh",
                                            "default_member_permissions": None}])


async def test_a_dm_channel_is_opened_once_per_user(http, api):
    route = Route("POST", "/users/@me/channels")
    first = await http.request(route, json={"recipient_id": str(CUSTOMER_ID)})
    assert first["type"] == 1 and (await http.request(route, json={"recipient_id": str(CUSTOMER_ID)}))["id"] == first["id"]
    assert (await post(http, {"content": "hello"}, channel=int(first["id"])))["id"]


async def test_every_refusal_is_recorded(http, api):
    await refused(post(http, {"content": ""}))
    [call] = api.rejected()
    assert (call.route, call.status, call.answer["code"]) == ("/channels/{id}/messages", 400, 50006)


# ----- the gateway (for process tests) -------------------------------------------------------------

async def identify(api, token: str, intents: int = 0) -> tuple[dict | None, int | None]:
    """The first dispatch after IDENTIFY, or the close code if the gateway refused it."""
    async with aiohttp.ClientSession() as session, session.ws_connect(api.gateway_url) as socket:
        assert (await socket.receive_json())["op"] == 10  # HELLO
        await socket.send_json({"op": 2, "d": {"token": token, "intents": intents, "properties": {}}})
        message = await socket.receive()
        if message.type != aiohttp.WSMsgType.TEXT:
            return None, socket.close_code
        await socket.send_json({"op": 1, "d": None})
        assert (await socket.receive_json())["op"] == 11  # HEARTBEAT_ACK
        return message.json(), None


async def test_the_gateway_identifies_the_bot_and_refuses_what_discord_refuses(api):
    ready, _ = await identify(api, BOT_TOKEN, intents=1 << 15)
    assert ready["t"] == "READY" and ready["d"]["user"]["id"] == str(BOT_ID)
    assert (await identify(api, "wrong"))[1] == 4004  # authentication failed
    api.gateway.message_content_allowed = False
    assert (await identify(api, BOT_TOKEN, intents=1 << 15))[1] == 4014  # disallowed intents
