"""The PolicyIndex protocol: what any policy store (local files, Weaviate) must do.

Shaped for both stores: chunks have deterministic ids, updates are staged and committed (the local
store writes a new generation beside the live one; Weaviate writes in place or into a new
collection behind an alias), documents are deleted by id, and search is hybrid with the audience
filter applied inside the store. Every commit bumps the generation that answer-cache keys include.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from bot.knowledge.splitting import Chunk
from bot.types import Audience


@dataclass(frozen=True)
class SearchQuery:
    text: str
    vector: np.ndarray
    audience: Audience
    limit: int = 6
    alpha: float = 0.5
    candidates: int = 50


@dataclass(frozen=True)
class SearchHit:
    chunk: Chunk
    score: float  # fused relative score, 0..1: ranks within one query only
    similarity: float  # cosine(query, chunk): comparable across queries, used for grounding
    keyword_score: float  # raw BM25
    # The passage's stored vector, when the store returns it: lets a message in a thread be compared
    # in meaning with passages that only its thread's search found (retrieval.thread_signals).
    vector: np.ndarray | None = field(default=None, compare=False, repr=False)


class IndexStoreError(Exception):
    """The index cannot be read or written; the message says what to do."""


class IndexUpdate(Protocol):
    """A staged change-set. Nothing becomes visible to searches before commit()."""

    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None: ...
    def delete_documents(self, document_ids: Iterable[str]) -> None: ...
    def commit(self) -> int: ...
    def abort(self) -> None: ...
    def __enter__(self) -> IndexUpdate: ...
    def __exit__(self, *exc_info) -> None: ...


@runtime_checkable
class PolicyIndex(Protocol):
    def generation(self) -> int: ...
    def embedding_model(self) -> str | None: ...
    def document_hashes(self) -> dict[str, str]: ...
    def document_paths(self) -> dict[str, str]: ...
    def count(self) -> int: ...
    def begin_update(self, *, full: bool = False, embedding_model: str = "") -> IndexUpdate: ...
    def search(self, query: SearchQuery) -> list[SearchHit]: ...
