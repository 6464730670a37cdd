"""What a tutorial RAG does, on the same index: search the last message alone, one way.

- ``bm25_last``: keyword search (BM25) on the last message.
- ``dense_last``: vector search (MiniLM cosine) on the last message; it declines with the same
  similarity threshold as the product, so its decisions can be compared too.
Both go through the same PolicyIndex search as the product (alpha 0 and 1), so they see the same
chunks, vectors and audience filter; only the query and the ranking differ.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from langchain_core.embeddings import Embeddings

from bot.answering.retrieval import SIGNAL_DEPTH, is_grounded
from bot.knowledge.embeddings import embed_query
from bot.knowledge.stores.protocol import PolicyIndex, SearchQuery
from bot.settings import RetrievalSettings
from bot.types import Audience


RANKED_DOCUMENTS = 10  # document ranks are measured down to this depth


def distinct_documents(document_ids: list[str], depth: int = RANKED_DOCUMENTS) -> list[str]:
    seen: list[str] = []
    for document_id in document_ids:
        if document_id not in seen:
            seen.append(document_id)
            if len(seen) == depth:
                break
    return seen


@dataclass
class BaselineResult:
    ranked_documents: list[str]
    answered: bool | None  # None: this baseline has no decline rule
    retrieval_ms: float


@dataclass
class Baseline:
    name: str
    description: str
    alpha: float  # 0 = BM25 only, 1 = vectors only
    declines: bool
    index: PolicyIndex
    embeddings: Embeddings
    settings: RetrievalSettings

    def rank(self, last_message: str) -> BaselineResult:
        started = time.perf_counter()
        vector = embed_query(self.embeddings, last_message)
        hits = self.index.search(SearchQuery(
            text=last_message, vector=vector, audience=Audience.PUBLIC,
            limit=self.settings.candidates, alpha=self.alpha, candidates=self.settings.candidates,
        ))
        elapsed = (time.perf_counter() - started) * 1000
        # The other side's candidates come back with a score of 0: they are not this ranking.
        ranked = [hit for hit in hits if hit.score > 0]
        answered = is_grounded(ranked[:SIGNAL_DEPTH], self.settings.min_similarity) if self.declines else None
        return BaselineResult(distinct_documents([h.chunk.document_id for h in ranked]), answered, elapsed)


def standard_baselines(index: PolicyIndex, embeddings: Embeddings, settings: RetrievalSettings) -> list[Baseline]:
    return [
        Baseline("bm25_last", "BM25 on the last message", 0.0, False, index, embeddings, settings),
        Baseline("dense_last", "dense (MiniLM) on the last message", 1.0, True, index, embeddings, settings),
    ]
