"""The report as Markdown, for the terminal (rich renders it) or a file. Customer questions and
document titles are escaped, so a question cannot become a link, a heading or a table cell."""

from __future__ import annotations

import re

from bot.reporting import Report
from bot.reporting.gaps import Gap
from bot.reporting.summary import DayRow, Summary

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~&])")


def escape(text: str) -> str:
    """Text as Markdown shows it literally: specials backslash-escaped, one line."""
    return _SPECIAL.sub(r"\\\1", " ".join(text.split()))


def percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"


def render(report: Report) -> str:
    s = report.summary
    lines = [f"# {escape(report.title)}: report", "",
             f"{s.since:%Y-%m-%d %H:%M} to {s.until:%Y-%m-%d %H:%M} UTC", "", "## Summary", "",
             "| | |", "|---|---:|", *_summary_rows(s), ""]
    lines += ["## Per day", "", "| Day | Asked | Answered | Declined | Escalated | Cache hits |",
              "|---|---:|---:|---:|---:|---:|"]
    lines += [_day_row(row) for row in s.days] or ["| (no questions in this period) | | | | | |"]
    lines += ["", "## Helpful rate by prompt version", "",
              "Prompt versions in the order they went live: a prompt edit's effect reads down the table.", "",
              "| Prompt version | In use (UTC) | Answers | Votes | Helpful |", "|---|---|---:|---:|---:|"]
    lines += [f"| {escape(p.version)} | {p.first_seen:%m-%d %H:%M} to {p.last_seen:%m-%d %H:%M} | {p.answers} "
              f"| {p.votes} | {percent(p.helpful_rate)} |" for p in s.prompts] or ["| (none) | | | | |"]
    lines += ["", "## Knowledge gaps", "", _gaps_intro(report), ""]
    for number, gap in enumerate(report.gaps, start=1):
        lines += _gap(number, gap, report.nearest_documents)
    return "\n".join(lines) + "\n"


def _summary_rows(s: Summary) -> list[str]:
    t = s.total
    return [f"| Questions asked | {t.asked} |",
            f"| Answered | {t.answered} ({percent(t.rate(t.answered))}) |",
            f"| Declined | {t.declined} ({percent(t.rate(t.declined))}) |",
            f"| Handed to a person | {t.escalated} ({percent(t.rate(t.escalated))}); {s.resolved} resolved |",
            f"| Answered from the cache | {t.cached} ({percent(s.cache_hit_rate)}) |",
            f"| Helpful votes | {s.helpful} of {s.votes} ({percent(s.helpful_rate)}) |"]


def _day_row(row: DayRow) -> str:
    return (f"| {row.day} | {row.asked} | {row.answered} ({percent(row.rate(row.answered))}) "
            f"| {row.declined} ({percent(row.rate(row.declined))}) | {row.escalated} "
            f"({percent(row.rate(row.escalated))}) | {percent(row.rate(row.cached))} |")


def _gaps_intro(report: Report) -> str:
    if not report.gaps:
        return "No declined, handed-over or not-helpful questions in this period."
    text = (f"{report.gap_questions} declined, handed-over or not-helpful questions, grouped by meaning, "
            "largest group first.")
    if report.gap_questions_left_out:
        text += f" The {report.gap_questions_left_out} oldest were left out."
    return text


def _gap(number: int, gap: Gap, with_documents: bool) -> list[str]:
    reasons = ", ".join(f"{reason} {count}" for reason, count in gap.reasons.most_common())
    lines = [f"### {number}. {gap.size} question{'s' * (gap.size != 1)} ({reasons})", ""]
    lines += [f"- {escape(example)}" for example in gap.examples]
    lines += ["", _document_line(gap, with_documents), ""]
    return lines


def _document_line(gap: Gap, with_documents: bool) -> str:
    document = gap.document
    if not with_documents:
        return "Nearest document: not looked up (multi-tenancy: pass --tenant)."
    if document is None:
        return "**No document covers this** (the index is empty)."
    where = f"{escape(document.title)}" + (f" ({escape(document.url)})" if document.url else "")
    if document.covers:
        return f"Nearest document: {where}, similarity {document.similarity:.2f}."
    return f"**No document covers this.** Closest: {where}, similarity {document.similarity:.2f}."
