"""Hybrid retrieval filtered by audience, and the grounding rule that decides answer or decline."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from langchain_core.embeddings import Embeddings

from bot.knowledge.embeddings import embed_query
from bot.knowledge.index import PolicyIndex, SearchHit, SearchQuery
from bot.settings import RetrievalSettings
from bot.types import Audience


@dataclass
class Retrieval:
    question: str
    hits: list[SearchHit]
    best_similarity: float
    grounded: bool
    timings_ms: dict[str, float] = field(default_factory=dict)
    query_vector: object = None


def is_grounded(hits: list[SearchHit], min_similarity: float) -> bool:
    """The one decline rule: answer only if some passage is close enough in meaning.

    Cosine similarity is comparable across questions, unlike fused scores (relative to each
    result list), so it is what the threshold is calibrated on.
    """
    return bool(hits) and max(hit.similarity for hit in hits) >= min_similarity


class Retriever:
    def __init__(self, index: PolicyIndex, embeddings: Embeddings, settings: RetrievalSettings) -> None:
        self.index = index
        self.embeddings = embeddings
        self.settings = settings

    def retrieve(self, question: str, audience: Audience, vector=None) -> Retrieval:
        """Passages for the question; `vector` is its embedding when the caller already has it."""
        started = time.perf_counter()
        if vector is None:
            vector = embed_query(self.embeddings, question)
        embedded = time.perf_counter()
        hits = self.index.search(SearchQuery(
            text=question, vector=vector, audience=audience, limit=self.settings.top_k,
            alpha=self.settings.alpha, candidates=self.settings.candidates,
        ))
        searched = time.perf_counter()
        best = max((hit.similarity for hit in hits), default=-1.0)
        return Retrieval(
            question=question, hits=hits, best_similarity=best,
            grounded=is_grounded(hits, self.settings.min_similarity),
            timings_ms={"embed": (embedded - started) * 1000, "search": (searched - embedded) * 1000},
            query_vector=vector,
        )
