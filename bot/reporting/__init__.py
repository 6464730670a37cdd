"""`supportbot report`: what a support lead needs to know about the bot over a period.

records.py   the answer, escalation and feedback logs in Redis, for a period
summary.py   questions per day and what became of them, helpful rate per prompt version, cache hits
clustering.py / gaps.py   declined, escalated and not-helpful questions grouped by meaning, with
             the nearest document in the index
markdown.py / html.py / charts.py   Markdown for the terminal, one self-contained HTML file

Everything a customer wrote (and every document title) is untrusted text: the Markdown escapes it
and the HTML template autoescapes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot.reporting.gaps import Gap, find_gaps, gap_questions
from bot.reporting.records import load
from bot.reporting.summary import Summary, summarise

if TYPE_CHECKING:
    from bot.service import SupportBot

MAX_GAP_QUESTIONS = 3000  # the most recent ones: clustering keeps an n x n matrix in memory


@dataclass
class Report:
    title: str
    summary: Summary
    gaps: list[Gap]
    gap_questions: int  # how many questions the gaps were made of
    gap_questions_left_out: int
    nearest_documents: bool


async def build_report(bot: SupportBot, period: timedelta, *, tenant: str | None = None,
                       now: datetime | None = None, min_similarity: float | None = None) -> Report:
    import asyncio

    from bot.reporting.clustering import DEFAULT_MIN_SIMILARITY

    until = now or datetime.now(UTC)
    data = await load(bot.state.redis, until - period, until, tenant=tenant)
    questions = gap_questions(data)
    left_out = max(0, len(questions) - MAX_GAP_QUESTIONS)
    questions = questions[-MAX_GAP_QUESTIONS:]
    # With multi-tenancy each team has its own index: nearest documents need --tenant.
    index = None if bot.settings.weaviate.multi_tenancy and tenant is None else bot.index
    gaps = await asyncio.to_thread(
        find_gaps, questions, bot.embeddings, index, tenant=tenant,
        min_similarity=min_similarity or DEFAULT_MIN_SIMILARITY,
        covers_at=bot.settings.retrieval.min_similarity)
    title = f"{bot.settings.company_name} support bot" + (f", team {tenant}" if tenant else "")
    return Report(title=title, summary=summarise(data), gaps=gaps, gap_questions=len(questions),
                  gap_questions_left_out=left_out, nearest_documents=index is not None)
