"""Knowledge gaps: questions the bot declined, that were handed to a person, or whose answer was
voted not helpful, grouped by meaning with the bot's own embeddings, each group with the nearest
document in the index (or none close enough to cover it), largest first."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from langchain_core.embeddings import Embeddings

from bot.knowledge.embeddings import embed_texts
from bot.knowledge.stores.protocol import PolicyIndex, SearchQuery
from bot.knowledge.stores.weaviate.tenancy import tenant_scope
from bot.reporting.clustering import DEFAULT_MIN_SIMILARITY, central_order, centroid, cluster
from bot.reporting.records import ReportData
from bot.types import Audience

DECLINED, ESCALATED, NOT_HELPFUL = "declined", "escalated", "not helpful"
EXAMPLES = 3


@dataclass
class GapQuestion:
    text: str
    reasons: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class NearestDocument:
    title: str
    url: str
    similarity: float
    covers: bool  # as close as the bot needs to answer from it (retrieval.min_similarity)


@dataclass
class Gap:
    size: int
    examples: list[str]
    reasons: Counter
    document: NearestDocument | None


def gap_questions(data: ReportData) -> list[GapQuestion]:
    """One entry per question asked (by answer id), with every reason it is a gap."""
    found: dict[str, GapQuestion] = {}

    def add(key: str, text: str, reason: str) -> None:
        if text.strip():
            found.setdefault(key, GapQuestion(text.strip())).reasons.add(reason)

    for answer in data.answers:
        if answer.mode == "declined":
            add(answer.answer_id, answer.question, DECLINED)
    for escalation in data.escalations:
        add(escalation.answer_id or f"escalation:{escalation.escalation_id}", escalation.question, ESCALATED)
    for vote in data.votes:
        if not vote.helpful:
            add(vote.answer_id, vote.question, NOT_HELPFUL)
    return list(found.values())


def find_gaps(questions: list[GapQuestion], embeddings: Embeddings, index: PolicyIndex | None, *,
              min_similarity: float = DEFAULT_MIN_SIMILARITY, covers_at: float = 0.46,
              tenant: str | None = None) -> list[Gap]:
    """Groups of questions by meaning, largest first; `index` None skips the nearest document."""
    if not questions:
        return []
    distinct = sorted({q.text for q in questions})
    vectors = embed_texts(embeddings, distinct)
    text_groups = cluster(vectors, min_similarity)
    asked: Counter = Counter(q.text for q in questions)
    gaps = []
    for group in text_groups:
        group_vectors = vectors[group]
        examples = [distinct[group[i]] for i in central_order(group_vectors)[:EXAMPLES]]
        members = {distinct[i] for i in group}
        reasons = Counter(r for q in questions if q.text in members for r in q.reasons)
        document = _nearest(index, examples[0], centroid(group_vectors), covers_at, tenant) if index else None
        gaps.append(Gap(size=sum(asked[t] for t in members), examples=examples, reasons=reasons,
                        document=document))
    return sorted(gaps, key=lambda g: -g.size)


def _nearest(index: PolicyIndex, text: str, vector: np.ndarray, covers_at: float,
             tenant: str | None) -> NearestDocument | None:
    """The index's closest passage to the group's centre (staff documents too: the report is for
    staff), by meaning alone."""
    query = SearchQuery(text=text, vector=vector, audience=Audience.STAFF, limit=1, alpha=1.0)
    with tenant_scope(tenant):
        hits = index.search(query)
    if not hits:
        return None
    hit = hits[0]
    return NearestDocument(title=hit.chunk.title, url=hit.chunk.url, similarity=hit.similarity,
                           covers=hit.similarity >= covers_at)
