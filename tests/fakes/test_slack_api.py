"""Self-tests of the Slack fake: through the real slack_sdk client, it refuses what Slack refuses.

One test per rule, each with Slack's own error shape, so a fake that went lenient fails here
before it hides a production failure in the adapter tests.
"""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from tests.fakes.slack_api import APP_TOKEN, BOT_TOKEN, BOT_USER_ID, FakeSlack
from tests.fakes.slack_rules import limit, rules

PUBLIC, PRIVATE, OUTSIDE, DM = "CPUB", "GPRIV", "COUT", "D0USER"


@pytest.fixture
def slack():
    with FakeSlack(channels={PUBLIC: "public", PRIVATE: "private", OUTSIDE: "public", DM: "im"},
                   not_member=(OUTSIDE,)) as fake:
        yield fake


@pytest.fixture
def client(slack):
    return AsyncWebClient(token=BOT_TOKEN, base_url=slack.base_url)


async def refused(call, **args) -> dict:
    with pytest.raises(SlackApiError) as caught:
        await call(**args)
    return caught.value.response.data


def section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def button(label="Go", action_id="go", value="v") -> dict:
    return {"type": "button", "text": {"type": "plain_text", "text": label}, "action_id": action_id, "value": value}


async def test_a_good_message_is_posted_and_can_be_read_back(slack, client):
    response = await client.chat_postMessage(channel=PUBLIC, text="hi", blocks=[section("hi")])
    assert response["ok"] and response["channel"] == PUBLIC
    [message] = slack.messages(PUBLIC)
    assert message["ts"] == response["ts"] and message["blocks"] == [section("hi")]


async def test_the_rules_table_names_its_sources():
    header = rules()["header"]
    assert header["generated_by"] == "scripts/extract_platform_rules.py" and header["extracted"]
    assert {s["file"] for s in header["sources"]} >= {"slack_openapi.json", "manifest.schema.1.0.0.json"}


# ----- methods, tokens, arguments, scopes, channels ------------------------------------------

async def test_an_unknown_method_is_refused(client):
    assert (await refused(client.api_call, api_method="chat.postMesage", json={"channel": PUBLIC}))["error"] \
        == "unknown_method"


async def test_a_missing_or_wrong_token_is_refused(slack):
    assert (await refused(AsyncWebClient(base_url=slack.base_url).auth_test))["error"] == "not_authed"
    wrong = AsyncWebClient(token="xoxb-other", base_url=slack.base_url)
    assert (await refused(wrong.auth_test))["error"] == "invalid_auth"
    assert (await refused(AsyncWebClient(token=BOT_TOKEN, base_url=slack.base_url).apps_connections_open,
                          app_token="xapp-wrong"))["error"] == "invalid_auth"
    assert (await AsyncWebClient(base_url=slack.base_url).apps_connections_open(app_token=APP_TOKEN))["ok"]


async def test_post_message_without_a_channel_is_refused(client):
    assert (await refused(client.api_call, api_method="chat.postMessage", json={"text": "hi"}))["error"] \
        == "channel_not_found"


async def test_missing_arguments_of_newer_methods_are_named(client):
    data = await refused(client.api_call, api_method="assistant.threads.setStatus",
                         json={"channel_id": DM, "thread_ts": "1.2"})
    assert data["error"] == "invalid_arguments"
    assert data["response_metadata"]["messages"] == ["[ERROR] missing required field: status"]


async def test_a_scope_the_manifest_does_not_grant_is_refused(slack):
    with FakeSlack(channels={PUBLIC: "public"}, scopes={"commands"}) as narrow:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=narrow.base_url)
        data = await refused(client.chat_postMessage, channel=PUBLIC, text="hi")
    assert data == {"ok": False, "error": "missing_scope", "needed": "chat:write", "provided": "commands"}


async def test_scopes_default_to_the_app_manifest(slack):
    from tests.fakes.slack_rules import granted_scopes, manifest

    assert slack.scopes == granted_scopes(manifest()) and "chat:write" in slack.scopes


async def test_unknown_channels_and_channels_the_bot_is_not_in(client, slack):
    assert (await refused(client.chat_postMessage, channel="CNOPE", text="hi"))["error"] == "channel_not_found"
    assert (await refused(client.chat_postMessage, channel=OUTSIDE, text="hi"))["error"] == "not_in_channel"
    slack.add_channel(PRIVATE, "private", member=False)  # a private channel the bot is not in is invisible
    assert (await refused(client.chat_postMessage, channel=PRIVATE, text="hi"))["error"] == "channel_not_found"


async def test_posting_to_a_user_lands_in_their_dm(client):
    response = await client.chat_postMessage(channel="U0ADMIN", text="hi")
    assert response["channel"] == "D0ADMIN"


async def test_a_message_needs_text_or_blocks_and_text_has_a_limit(client):
    assert (await refused(client.chat_postMessage, channel=PUBLIC))["error"] == "no_text"
    too_long = "x" * (limit("message.text") + 1)
    assert (await refused(client.chat_postMessage, channel=PUBLIC, text=too_long))["error"] == "msg_too_long"


# ----- updates and permalinks ----------------------------------------------------------------

async def test_updating_a_message_that_does_not_exist_or_is_not_ours(client, slack):
    assert (await refused(client.chat_update, channel=PUBLIC, ts="1.000001", text="x"))["error"] == "message_not_found"
    slack.add_user_message(PUBLIC, "1.000002", "U0SOMEONE", "mine")
    assert (await refused(client.chat_update, channel=PUBLIC, ts="1.000002", text="x"))["error"] \
        == "cant_update_message"


async def test_a_permalink_needs_an_existing_message(client, slack):
    assert (await refused(client.chat_getPermalink, channel=PUBLIC, message_ts="1.000003"))["error"] \
        == "message_not_found"
    slack.add_user_message(PUBLIC, "1.000003", "U0SOMEONE")
    assert (await client.chat_getPermalink(channel=PUBLIC, message_ts="1.000003"))["permalink"].endswith("p1000003")


# ----- Block Kit limits ------------------------------------------------------------------------

@pytest.mark.parametrize("name, blocks", [
    ("51 blocks", [section("x")] * (limit("message.blocks") + 1)),
    ("a 3,001-character section", [section("x" * (limit("section.text") + 1))]),
    ("an empty section", [section("")]),
    ("11 context elements", [{"type": "context", "elements": [{"type": "mrkdwn", "text": "x"}] * 11}]),
    ("a 3,010-character context element (the old Sources block)",
     [{"type": "context", "elements": [{"type": "mrkdwn", "text": "*Sources*\n" + "x" * 3000}]}]),
    ("a 76-character button label", [{"type": "actions", "elements": [button(label="x" * 76)]}]),
    ("a 200-character button label", [{"type": "actions", "elements": [button(label="x" * 200)]}]),
    ("a mrkdwn button label", [{"type": "actions", "elements": [
        {**button(), "text": {"type": "mrkdwn", "text": "*Go*"}}]}]),
    ("a 256-character action_id", [{"type": "actions", "elements": [button(action_id="a" * 256)]}]),
    ("a 2,001-character button value", [{"type": "actions", "elements": [button(value="v" * 2001)]}]),
    ("an unknown button style", [{"type": "actions", "elements": [{**button(), "style": "blue"}]}]),
    ("an empty actions block", [{"type": "actions", "elements": []}]),
    ("duplicate action_ids", [{"type": "actions", "elements": [button(), button()]}]),
    ("a 151-character header", [{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}]),
    ("a 256-character block_id", [{**section("x"), "block_id": "b" * 256}]),
    ("duplicate block_ids", [{**section("x"), "block_id": "b"}, {**section("y"), "block_id": "b"}]),
    ("an unknown block type", [{"type": "sectoin", "text": {"type": "mrkdwn", "text": "x"}}]),
])
async def test_blocks_beyond_block_kit_limits_are_refused(client, name, blocks):
    data = await refused(client.chat_postMessage, channel=PUBLIC, text="fallback", blocks=blocks)
    assert data["error"] == "invalid_blocks", name
    assert data["errors"] and all("[json-pointer:/blocks" in e for e in data["errors"])
    assert data["response_metadata"]["messages"][0].startswith("[ERROR] ")


async def test_blocks_at_the_limits_are_accepted(client):
    blocks = [section("x" * limit("section.text")),
              {"type": "context", "elements": [{"type": "mrkdwn", "text": "x" * 3000}] * 10},
              {"type": "actions", "elements": [button(label="x" * 75, action_id="a" * 255, value="v" * 2000)]}]
    blocks += [section("y")] * (limit("message.blocks") - len(blocks))
    assert (await client.chat_postMessage(channel=PUBLIC, text="fallback", blocks=blocks))["ok"]


async def test_updates_and_response_urls_check_blocks_too(client, slack):
    posted = await client.chat_postMessage(channel=PUBLIC, text="hi")
    assert (await refused(client.chat_update, channel=PUBLIC, ts=posted["ts"], text="x",
                          blocks=[section("x" * 3001)]))["error"] == "invalid_blocks"
    webhook = AsyncWebhookClient(slack.response_url("r"))
    bad = await webhook.send(text="x", blocks=[section("x" * 3001)])
    assert (bad.status_code, bad.body) == (400, "invalid_blocks")
    assert (await webhook.send(text="fine")).status_code == 200


# ----- streaming ---------------------------------------------------------------------------------

async def test_a_stream_is_started_appended_and_stopped_in_order(client, slack):
    started = await client.chat_startStream(channel=DM, thread_ts="1.5", markdown_text="Hello")
    await client.chat_appendStream(channel=DM, ts=started["ts"], markdown_text=" world")
    await client.chat_stopStream(channel=DM, ts=started["ts"], blocks=[section("Sources")])
    [message] = slack.messages(DM)
    assert (message["text"], message["streaming"], message["blocks"]) == ("Hello world", False, [section("Sources")])
    assert (await refused(client.chat_appendStream, channel=DM, ts=started["ts"], markdown_text="more"))["error"] \
        == "message_not_in_streaming_state"


async def test_append_without_start_and_overlong_pieces_are_refused(client):
    assert (await refused(client.chat_appendStream, channel=DM, ts="1.9", markdown_text="x"))["error"] \
        == "message_not_found"
    started = await client.chat_startStream(channel=DM, thread_ts="1.5")
    too_long = "x" * (limit("stream.markdown_text") + 1)
    assert (await refused(client.chat_appendStream, channel=DM, ts=started["ts"], markdown_text=too_long))["error"] \
        == "msg_too_long"
    assert (await refused(client.chat_stopStream, channel=DM, ts=started["ts"],
                          blocks=[section("x")] * 51))["error"] == "invalid_blocks"


async def test_a_stream_in_a_channel_names_its_recipient(client):
    data = await refused(client.chat_startStream, channel=PUBLIC, thread_ts="1.5", markdown_text="x")
    assert data["error"] == "invalid_arguments" and "recipient_team_id" in str(data["response_metadata"])
    assert (await client.chat_startStream(channel=PUBLIC, thread_ts="1.5", recipient_team_id="T1",
                                          recipient_user_id="U1"))["ok"]


async def test_a_streaming_message_cannot_be_updated_until_stopped(client):
    started = await client.chat_startStream(channel=DM, thread_ts="1.5", markdown_text="x")
    assert (await refused(client.chat_update, channel=DM, ts=started["ts"], text="y"))["error"] \
        == "streaming_state_conflict"


# ----- assistant / agent methods -------------------------------------------------------------

async def test_suggested_prompts_are_limited_to_four(client, slack):
    prompts = [{"title": f"t{n}", "message": f"m{n}"} for n in range(5)]
    assert (await refused(client.assistant_threads_setSuggestedPrompts, channel_id=DM,
                          prompts=prompts))["error"] == "invalid_arguments"
    await client.assistant_threads_setSuggestedPrompts(channel_id=DM, prompts=prompts[:4])
    assert slack.prompts[DM] == prompts[:4]


async def test_with_agent_view_a_thread_ts_makes_suggested_prompts_a_silent_no_op(slack):
    prompts = [{"title": "t", "message": "m"}]
    for experience, shown in (("agent", False), ("assistant", True)):
        with FakeSlack(channels={DM: "im"}, experience=experience) as fake:
            client = AsyncWebClient(token=BOT_TOKEN, base_url=fake.base_url)
            assert (await client.assistant_threads_setSuggestedPrompts(channel_id=DM, thread_ts="1.5",
                                                                       prompts=prompts))["ok"]
            assert (DM in fake.prompts) is shown, experience


async def test_a_status_needs_an_existing_thread(client, slack):
    assert (await refused(client.assistant_threads_setStatus, channel_id=DM, thread_ts="1.7",
                          status="is thinking…"))["error"] == "invalid_thread_ts"
    slack.add_user_message(DM, "1.7", "U0USER", "question")
    assert (await client.assistant_threads_setStatus(channel_id=DM, thread_ts="1.7", status="is thinking…"))["ok"]


async def test_every_refusal_is_recorded(client, slack):
    await refused(client.chat_postMessage, channel="CNOPE", text="x")
    [call] = slack.rejected()
    assert call.method == "chat.postMessage" and call.result["error"] == "channel_not_found"
    assert BOT_USER_ID == (await client.auth_test())["user_id"]
