"""What a report reads from Redis: the answer, escalation and feedback logs (streams) of a period.

The logs are written by bot/state/records.py; stream ids are millisecond timestamps, so a period
is an XRANGE. An escalation's question comes from its record, a vote's from the answer log (or
the answer's own record, when it was asked before the period).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.state.connection import RedisState
from bot.state.records import escalation_from_json

_PERIOD = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_BATCH = 5000


class PeriodError(ValueError):
    """A --since value that is not a period."""


def parse_period(text: str) -> timedelta:
    """'7d', '24h', '90m', '2w' as a timedelta."""
    found = _PERIOD.match(text.lower())
    if not found or int(found[1]) == 0:
        raise PeriodError(f"--since {text!r} is not a period: use a number and a unit, for example 7d "
                          "(days), 24h (hours), 90m (minutes) or 2w (weeks).")
    return timedelta(**{_UNITS[found[2]]: int(found[1])})


@dataclass(frozen=True)
class AnswerEvent:
    at: datetime
    answer_id: str
    platform: str
    tenant: str
    mode: str
    cached: bool
    audience: str
    prompt_version: str
    question: str


@dataclass(frozen=True)
class EscalationEvent:
    at: datetime
    escalation_id: str
    platform: str
    question: str
    answer_id: str  # the answer the hand-over was asked from, if any


@dataclass(frozen=True)
class Vote:
    at: datetime
    answer_id: str
    prompt_version: str
    helpful: bool
    question: str


@dataclass
class ReportData:
    since: datetime
    until: datetime
    answers: list[AnswerEvent] = field(default_factory=list)
    escalations: list[EscalationEvent] = field(default_factory=list)
    resolved: int = 0
    votes: list[Vote] = field(default_factory=list)


async def load(redis: RedisState, since: datetime, until: datetime | None = None,
               tenant: str | None = None) -> ReportData:
    until = until or datetime.now(UTC)
    data = ReportData(since=since, until=until)
    for at, fields in await _read(redis, "answers", since, until):
        if tenant is None or fields.get("tenant") == tenant:
            data.answers.append(AnswerEvent(
                at=at, answer_id=fields["answer_id"], platform=fields.get("platform", ""),
                tenant=fields.get("tenant", ""), mode=fields.get("mode", ""), cached=fields.get("cached") == "1",
                audience=fields.get("audience", ""), prompt_version=fields.get("prompt_version", ""),
                question=fields.get("question", "")))
    questions = {a.answer_id: a.question for a in data.answers}
    await _load_escalations(redis, data, since, until, questions)
    votes = await _read(redis, "feedback", since, until)
    missing = [f["answer_id"] for _, f in votes if f.get("answer_id") not in questions]
    questions |= await _questions_of(redis, missing)
    for at, fields in votes:
        data.votes.append(Vote(at=at, answer_id=fields.get("answer_id", ""),
                               prompt_version=fields.get("prompt_version", ""),
                               helpful=fields.get("helpful") == "1",
                               question=questions.get(fields.get("answer_id", ""), "")))
    return data


async def _load_escalations(redis: RedisState, data: ReportData, since: datetime, until: datetime,
                            questions: dict[str, str]) -> None:
    opened = []
    for at, fields in await _read(redis, "escalations", since, until):
        if fields.get("event") == "resolved":
            data.resolved += 1
        elif fields.get("event") == "opened":
            opened.append((at, fields))
    keys = [redis.key("escalation", f.get("escalation_id", "")) for _, f in opened]
    records = await redis.run(lambda r: r.mget(keys)) if keys else []
    for (at, fields), raw in zip(opened, records, strict=True):
        escalation = escalation_from_json(raw) if raw else None
        answer_id = escalation.last_answer.answer_id if escalation and escalation.last_answer else ""
        question = (escalation.question if escalation else "") or questions.get(answer_id, "")
        data.escalations.append(EscalationEvent(
            at=at, escalation_id=fields.get("escalation_id", ""),
            platform=fields.get("conversation", "").split(":", 1)[0], question=question, answer_id=answer_id))


async def _read(redis: RedisState, name: str, since: datetime, until: datetime) -> list[tuple[datetime, dict]]:
    """Every entry of log:<name> in [since, until], oldest first, in batches."""
    key = redis.key("log", name)
    low, high = f"{_ms(since)}-0", f"{_ms(until)}-18446744073709551615"
    found: list[tuple[datetime, dict]] = []
    while True:
        batch = await redis.run(lambda r, low=low: r.xrange(key, min=low, max=high, count=_BATCH))
        for entry_id, raw in batch:
            fields = {k.decode(): v.decode() for k, v in raw.items()}
            found.append((_time_of(entry_id), fields))
        if len(batch) < _BATCH:
            return found
        low = "(" + batch[-1][0].decode()  # exclusive: after the last one read


async def _questions_of(redis: RedisState, answer_ids: list[str]) -> dict[str, str]:
    """Questions of answers asked before the period, from their records (while they are kept)."""
    if not answer_ids:
        return {}
    raws = await redis.run(lambda r: r.mget([redis.key("answer-id", a) for a in answer_ids]))
    return {a: json.loads(raw)["answer"]["standalone_question"]
            for a, raw in zip(answer_ids, raws, strict=True) if raw}


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _time_of(entry_id: bytes) -> datetime:
    return datetime.fromtimestamp(int(entry_id.split(b"-")[0]) / 1000, UTC)
