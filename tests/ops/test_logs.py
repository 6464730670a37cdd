"""Logs: every line of one Slack delivery carries its event id (ours and the libraries' through the
standard library), JSON on request, question text only with log_questions, secrets masked."""

from __future__ import annotations

import json
import logging

import pytest
import structlog
from pydantic import SecretStr

from bot.logs import bind_delivery, configure_from_settings, configure_logging


@pytest.fixture(autouse=True)
def _restore_logging():
    yield
    structlog.reset_defaults()
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == "supportbot"]:
        root.removeHandler(handler)
    root.setLevel(logging.WARNING)


def _lines(err: str) -> list[dict]:
    return [json.loads(line) for line in err.splitlines() if line.strip()]


async def test_lines_of_one_slack_delivery_share_its_event_id(harness, capsys):
    configure_logging("DEBUG", json=True)  # DEBUG: slack_sdk's own lines for each Web API call too
    capsys.readouterr()
    await harness.mention("How long does shipping take?", event_id="EvOne")
    first = _lines(capsys.readouterr().err)
    await harness.mention("Do you ship to Canada?", event_id="EvTwo")
    second = _lines(capsys.readouterr().err)

    for lines, event_id in ((first, "EvOne"), (second, "EvTwo")):
        # From the placeholder on (bolt checks the token with auth.test once, before any middleware).
        start = next(i for i, line in enumerate(lines) if "chat.postMessage" in line["event"])
        delivery = [line for line in lines[start:] if line["logger"].startswith(("bot.", "adapters.", "slack_"))]
        assert len(delivery) >= 5  # placeholder post and its response, the answer, the update and its response
        assert {line.get("event_id") for line in delivery} == {event_id}
        assert {line.get("platform") for line in delivery} == {"slack"}
        assert len({line.get("conversation") for line in delivery}) == 1
        [answered] = [line for line in delivery if line["event"] == "answered"]
        after = delivery[delivery.index(answered):]
        assert {line.get("answer_id") for line in after} == {answered["answer_id"]}  # posting it too
        assert answered["tenant"] == "T0TEAM" or answered.get("tenant") is None
        assert "question" not in answered  # log_questions is off
    assert not any("xoxb-test" in json.dumps(line) for line in first + second)  # the bot token, masked


def test_standard_library_lines_share_the_renderer_and_the_context(capsys):
    configure_logging("INFO", json=True)
    bind_delivery("discord", event_id="123", tenant="G1")
    logging.getLogger("discord.gateway").info("Shard %s has connected", "0")
    logging.getLogger("aiohttp.access").info("GET /metrics 200")  # scrapes are not worth a line
    [line] = _lines(capsys.readouterr().err)
    assert line["event"] == "Shard 0 has connected" and line["logger"] == "discord.gateway"
    assert line["event_id"] == "123" and line["platform"] == "discord" and line["tenant"] == "G1"
    assert line["level"] == "info" and "timestamp" in line


def test_question_text_only_with_log_questions(sample_settings, capsys):
    log = structlog.get_logger("bot.service")
    configure_from_settings(sample_settings, long_running=True)
    log.info("answered", mode="declined", question="my card number is 4111")
    assert "answered" in capsys.readouterr().err  # INFO for a worker by default, key=value lines
    configure_from_settings(sample_settings, long_running=False)
    log.info("answered", mode="declined")
    assert capsys.readouterr().err == ""  # WARNING for one-shot commands
    configure_from_settings(sample_settings.model_copy(update={"log_format": "json"}), long_running=True)
    log.info("answered", mode="declined", question="my card number is 4111")
    [line] = _lines(capsys.readouterr().err)
    assert line["mode"] == "declined" and "question" not in line
    configure_from_settings(sample_settings.model_copy(update={"log_format": "json", "log_questions": True}),
                            long_running=True)
    log.info("answered", question="where is my order?")
    assert _lines(capsys.readouterr().err)[0]["question"] == "where is my order?"


def test_secrets_are_masked(sample_settings, capsys):
    settings = sample_settings.model_copy(update={
        "anthropic_api_key": SecretStr("plain-secret-value-123"),
        "redis_url": SecretStr("redis://:hunter2pass@redis.internal:6379/0"),
        "log_format": "json"})
    configure_from_settings(settings, long_running=True)
    log = structlog.get_logger("test")
    log.warning("oops", detail="key plain-secret-value-123 and redis://:hunter2pass@redis.internal:6379/0",
                other="xapp-1-A0-123-abc and sk-ant-api03-xyz")
    logging.getLogger("weaviate").warning("token xoxb-1234-5678-abcd in a library line")
    text = capsys.readouterr().err
    for secret in ("plain-secret-value-123", "hunter2pass", "xapp-1-A0-123-abc", "sk-ant-api03-xyz", "xoxb-1234"):
        assert secret not in text
    assert "redis.internal:6379" in text  # which Redis stays readable
