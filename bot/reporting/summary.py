"""The figures of a report: questions per day and what became of them, helpful rate per prompt
version, cache hit rate. Pure: built from ReportData, no Redis, no model."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from bot.reporting.records import ReportData

ANSWERED = ("generated", "extractive")
# What a question can become; modes not listed (unavailable: the index was down) count as asked.
COUNTED = (*ANSWERED, "declined")


@dataclass
class DayRow:
    day: date | None  # None: the whole period
    asked: int = 0
    answered: int = 0
    declined: int = 0
    escalated: int = 0
    cached: int = 0

    def rate(self, part: int) -> float | None:
        return part / self.asked if self.asked else None


@dataclass
class PromptRow:
    version: str
    first_seen: datetime
    last_seen: datetime
    answers: int = 0
    votes: int = 0
    helpful: int = 0

    @property
    def helpful_rate(self) -> float | None:
        return self.helpful / self.votes if self.votes else None


@dataclass
class Summary:
    since: datetime
    until: datetime
    days: list[DayRow]
    total: DayRow
    prompts: list[PromptRow]
    resolved: int
    votes: int
    helpful: int
    platforms: dict[str, int] = field(default_factory=dict)

    @property
    def cache_hit_rate(self) -> float | None:
        return self.total.rate(self.total.cached)

    @property
    def helpful_rate(self) -> float | None:
        return self.helpful / self.votes if self.votes else None


def summarise(data: ReportData) -> Summary:
    days: dict[date, DayRow] = {}
    total = DayRow(None)
    platforms: dict[str, int] = defaultdict(int)

    def rows(moment: datetime) -> tuple[DayRow, DayRow]:
        day = moment.date()
        return days.setdefault(day, DayRow(day)), total

    for answer in data.answers:
        platforms[answer.platform] += 1
        for row in rows(answer.at):
            row.asked += 1
            row.answered += answer.mode in ANSWERED
            row.declined += answer.mode == "declined"
            row.cached += answer.cached
    for escalation in data.escalations:
        for row in rows(escalation.at):
            row.escalated += 1
    return Summary(since=data.since, until=data.until, days=[days[d] for d in sorted(days)], total=total,
                   prompts=_prompt_rows(data), resolved=data.resolved, votes=len(data.votes),
                   helpful=sum(v.helpful for v in data.votes), platforms=dict(platforms))


def _prompt_rows(data: ReportData) -> list[PromptRow]:
    """One row per prompt version, in the order they went live, so an edit's effect reads down."""
    found: dict[str, PromptRow] = {}
    for answer in data.answers:
        row = found.setdefault(answer.prompt_version, PromptRow(answer.prompt_version, answer.at, answer.at))
        row.answers += 1
        row.first_seen, row.last_seen = min(row.first_seen, answer.at), max(row.last_seen, answer.at)
    for vote in data.votes:
        row = found.setdefault(vote.prompt_version, PromptRow(vote.prompt_version, vote.at, vote.at))
        row.votes += 1
        row.helpful += vote.helpful
    return sorted(found.values(), key=lambda r: r.first_seen)
