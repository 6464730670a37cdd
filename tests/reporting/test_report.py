"""`supportbot report` on records made by driving the bot: off-topic and unanswerable questions
(declined, or answered and voted not helpful), hand-overs, votes, a cache hit and a hostile question."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot import cli
from bot.reporting import build_report
from bot.reporting import html as html_report
from bot.reporting import markdown as markdown_report
from bot.types import ConversationKey, Inquiry
from tests.helpers import build_test_bot
from tests.reporting.test_clustering import load_fixture
from tests.state.conftest import with_redis

HOSTILE = "<script>alert(1)</script> [click](https://evil.example) **free** | cell"
RETAIL = ["How long does a refund take?", "Do you ship to Canada?"]


def _inquiry(text: str, n: int) -> Inquiry:
    return Inquiry(text=text, conversation=ConversationKey("slack", "CPUBLIC", uuid.uuid4().hex),
                   user_id=f"U{n}")


@pytest.fixture
async def driven(sample_settings, embeddings, prefix):
    """A bot whose Redis logs hold a morning of traffic; returns it with what was done."""
    settings = with_redis(sample_settings, prefix).model_copy(update={
        "rate_limit": sample_settings.rate_limit.model_copy(update={"enabled": False})})
    bot = build_test_bot(settings, embeddings)
    done = {"asked": 0, "declined": 0, "escalated": 0, "helpful": 0, "not_helpful": 0, "gap_texts": {}}
    for n, row in enumerate(load_fixture()):
        answer = await bot.answer(_inquiry(row["text"], n))
        done["asked"] += 1
        done["gap_texts"][row["text"]] = row["group"]
        if answer.mode == "declined":
            done["declined"] += 1
        else:  # answered from a page that does not cover it: the asker says so
            await bot.feedback(answer.answer_id, False, f"U{n}")
            done["not_helpful"] += 1
        if row["group"] == "covid-19 guidance" and n % 3 == 0:
            conversation = (await bot.records.find_answer(answer.answer_id))[0]
            await bot.escalate(conversation, requested_by=f"U{n}", answer_id=answer.answer_id)
            done["escalated"] += 1
    for n, text in enumerate(RETAIL * 2, start=100):  # the second round comes from the cache
        answer = await bot.answer(_inquiry(text, n))
        done["asked"] += 1
        await bot.feedback(answer.answer_id, n != 100, f"U{n}")  # one asker found the refund answer unhelpful
        done["helpful" if n != 100 else "not_helpful"] += 1
    done["retail_unhelpful"] = RETAIL[0]
    answer = await bot.answer(_inquiry(HOSTILE, 200))
    done["asked"] += 1
    done["declined"] += answer.mode == "declined"
    if answer.mode != "declined":
        await bot.feedback(answer.answer_id, False, "U200")
        done["not_helpful"] += 1
    yield bot, done
    await bot.close()


async def test_the_report_counts_what_happened_and_groups_the_gaps(driven):
    bot, done = driven
    report = await build_report(bot, timedelta(days=1))
    s = report.summary
    assert s.total.asked == done["asked"] and len(s.days) == 1
    assert s.total.declined == done["declined"] and s.total.answered == done["asked"] - done["declined"]
    assert s.total.escalated == done["escalated"] >= 5
    assert s.total.cached == 2 and s.cache_hit_rate == pytest.approx(2 / done["asked"])
    assert (s.votes, s.helpful) == (done["helpful"] + done["not_helpful"], done["helpful"])
    [prompts] = s.prompts
    assert prompts.version == bot.prompts.current().version and prompts.answers == done["asked"]
    assert prompts.helpful_rate == pytest.approx(done["helpful"] / s.votes)

    groups = done["gap_texts"]
    for gap in report.gaps:  # no group of the report mixes two intents
        assert len({groups.get(example, example) for example in gap.examples}) == 1, gap.examples
    top = report.gaps[0]
    assert {groups[e] for e in top.examples} == {"covid-19 guidance"} and top.size >= 8
    assert top.reasons["escalated"] >= 3 and top.document is not None and not top.document.covers
    [refund] = [g for g in report.gaps if done["retail_unhelpful"] in g.examples]
    assert refund.reasons == {"not helpful": 1} and refund.document.covers
    assert refund.document.title == "Returns and refunds"
    assert report.gap_questions == done["declined"] + done["not_helpful"]


async def test_customer_text_is_escaped_in_both_outputs(driven):
    bot, _ = driven
    report = await build_report(bot, timedelta(hours=1))
    markdown = markdown_report.render(report)
    html = html_report.render(report)
    assert "<script>" not in markdown and "](https://evil.example)" not in markdown
    assert r"\<script\>alert\(1\)\</script\> \[click\]\(https://evil\.example\) \*\*free\*\* \| cell" in markdown
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'href="https://evil.example' not in html


async def test_an_empty_period_says_so(sample_settings, embeddings, prefix):
    bot = build_test_bot(with_redis(sample_settings, prefix), embeddings)
    report = await build_report(bot, timedelta(days=7))
    await bot.close()
    assert report.summary.total.asked == 0 and report.gaps == []
    assert "No declined, handed-over or not-helpful questions" in markdown_report.render(report)


def test_the_command_prints_markdown_and_writes_html(driven_sync, tmp_path, monkeypatch):
    settings, embeddings = driven_sync
    monkeypatch.setenv("REDIS_URL", settings.redis_url.get_secret_value())
    monkeypatch.setenv("SUPPORTBOT_REDIS__KEY_PREFIX", settings.redis.key_prefix)
    monkeypatch.setattr("bot.wiring.build_embeddings", lambda _settings: embeddings)
    target = tmp_path / "out" / "report.html"
    result = CliRunner().invoke(cli.app, ["report", "--since", "2h", "--html", str(target),
                                          "--markdown", str(tmp_path / "report.md")])
    assert result.exit_code == 0, result.output
    assert "Knowledge gaps" in result.output and f"HTML report: {target}" in result.output
    assert target.read_text().startswith("<!DOCTYPE html>")
    assert (tmp_path / "report.md").read_text().startswith("# Harbor")


def test_a_bad_period_is_refused_with_an_example():
    result = CliRunner().invoke(cli.app, ["report", "--since", "7 days"])
    assert result.exit_code == 2 and "for example 7d" in result.output


@pytest.fixture
def driven_sync(sample_settings, embeddings, prefix):
    """Settings whose Redis prefix holds one declined and one answered question."""
    import asyncio

    settings = with_redis(sample_settings, prefix)

    async def drive() -> None:
        bot = build_test_bot(settings, embeddings)
        await bot.answer(_inquiry("What's the weather in Paris?", 1))
        await bot.answer(_inquiry("How long does a refund take?", 2))
        await bot.close()

    asyncio.run(drive())
    return settings, embeddings


def test_answer_log_entries_hold_no_more_than_the_answer_record(driven_sync, raw_redis_for):
    settings, _ = driven_sync
    entries = raw_redis_for.xrange(settings.redis.key_prefix + "log:answers")
    assert len(entries) == 2
    fields = {k.decode(): v.decode() for k, v in entries[0][1].items()}
    assert set(fields) == {"answer_id", "platform", "tenant", "mode", "cached", "audience", "prompt_version",
                           "generation", "question"}
    record = json.loads(raw_redis_for.get(settings.redis.key_prefix + "answer-id:" + fields["answer_id"]))
    assert fields["question"] == record["answer"]["standalone_question"]


@pytest.fixture
def raw_redis_for(redis_url):
    import redis

    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


