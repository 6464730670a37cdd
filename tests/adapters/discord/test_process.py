"""`python -m adapters.discord` as a real process (pointed at the REST and gateway fakes): start
failures in one line, retries, and a stop within 5 seconds at any moment, measured.

See tests/adapters/slack/test_process.py for why 5 seconds is a requirement and not a speed test.
"""

from __future__ import annotations

import signal

import pytest

from adapters.discord.process import INTENT_REFUSED, TOKEN_REFUSED
from tests.adapters.discord.conftest import CUSTOMER, ESCALATION_CHANNEL
from tests.adapters.processes import UNREACHABLE, AdapterProcess, Processes, settings_file
from tests.fakes.anthropic_server import Reply
from tests.fakes.discord_api import BOT_TOKEN
from tests.fakes.discord_payloads import custom_ids, message_payload, sealed_fields, snowflake

STOP_WITHIN_S = 5.0


@pytest.fixture
async def start(tmp_path, sample_root, api):
    """start(api_base=None, env=None, **sections) -> a started AdapterProcess against the fakes."""
    processes = Processes(tmp_path)

    async def start(api_base: str | None = None, env: dict | None = None, **sections) -> AdapterProcess:
        discord = {"escalation_channel_id": ESCALATION_CHANNEL, "edit_interval_s": 0.3, **sections.pop("discord", {})}
        config = settings_file(tmp_path, sample_root, {"discord": discord, **sections})
        return await processes.start(["-m", "tests.adapters.discord.against_fakes", "--config", str(config)],
                                     {"DISCORD_TOKEN": BOT_TOKEN, "FAKE_DISCORD_API": api_base or api.base,
                                      "FAKE_DISCORD_GATEWAY": api.gateway_url, **(env or {})})

    yield start
    await processes.kill_all()


# ----- start failures --------------------------------------------------------------------------

@pytest.mark.parametrize("where", UNREACHABLE)
async def test_an_unreachable_discord_is_retried_then_named_in_one_line(start, where):
    process = await start(UNREACHABLE[where] + "/api/v10", discord={"startup_retry_s": 3})
    assert await process.finish() == 1
    last = process.lines[-1]
    assert last.startswith(("Cannot reach Discord", "Discord: no answer within", "Discord is not answering",
                            "Discord answered the token check")), process.output
    assert "gave up after" in last and "Traceback" not in process.output
    assert any("retrying" in line for line in process.lines)


async def test_a_refused_token_stops_at_once_with_what_to_do(start, api):
    process = await start(env={"DISCORD_TOKEN": "not-the-token"})
    assert await process.finish() == 2
    assert process.lines[-1] == TOKEN_REFUSED and "Traceback" not in process.output
    assert [c.status for c in api.calls] == [401]
    api.calls.clear()  # the one refusal this test asked for


async def test_a_missing_message_content_intent_stops_with_what_to_do(start, api):
    api.gateway.message_content_allowed = False
    process = await start()
    assert await process.finish() == 2, process.output
    assert process.lines[-1] == INTENT_REFUSED and "Traceback" not in process.output


# ----- stopping --------------------------------------------------------------------------------

@pytest.mark.parametrize("where", UNREACHABLE)
async def test_a_stop_while_retrying_ends_within_5_seconds(start, where):
    process = await start(UNREACHABLE[where] + "/api/v10", discord={"startup_retry_s": 600})
    await process.wait_for("retrying")
    seconds, code = await process.stop(signal.SIGTERM)
    assert code == 0 and seconds < STOP_WITHIN_S, (seconds, process.output)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_a_stop_while_connected_ends_within_5_seconds(start, api, sig):
    process = await start()
    await process.wait_for("connected to Discord")
    assert api.gateway.identified  # through the gateway, as discord.com would see it
    seconds, code = await process.stop(sig)
    assert code == 0 and seconds < STOP_WITHIN_S, (seconds, process.output)


async def test_a_stop_while_answering_ends_the_message_with_the_apology(start, api, claude):
    claude.queue(Reply("Opened items can be returned within 30 days if unused [1]. " * 20, chunk_size=40,
                            delay=0.25))
    process = await start(env={"ANTHROPIC_API_KEY": "test-key"},
                          llm={"base_url": claude.base_url, "model": "claude-test", "max_retries": 0})
    await process.wait_for("connected to Discord")
    dm = snowflake()
    api.add_dm(dm, CUSTOMER)
    question = message_payload(snowflake(), dm, "Can I return an opened item?", author=CUSTOMER, guild_id=None)
    api.add_user_message(question)
    await api.gateway.dispatch("MESSAGE_CREATE", question)
    await api.wait_for(lambda: [m for m in api.posted(dm) if m["content"].endswith(" …")], timeout=60)  # streaming
    seconds, code = await process.stop(signal.SIGTERM)
    assert code == 0 and seconds < STOP_WITHIN_S, (seconds, process.output)
    [message] = api.posted(dm)
    assert message["content"].startswith("Sorry, something went wrong"), message["content"]
    [human] = custom_ids(message)
    assert {k: v for k, v in sealed_fields(human).items() if k != "asker"} == {
        "kind": "human", "action": "h", "channel": f"@me/{dm}", "thread": "=", "subject": ""}
