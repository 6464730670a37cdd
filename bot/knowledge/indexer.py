"""`supportbot index`: load, split, embed and write, doing only the work that changed.

A document whose content hash (text, metadata and the splitting/embedding pipeline) matches the
index is not split or embedded again. Removed files leave the index. Each run commits a new
generation; any failure before the commit leaves the previous generation serving.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from langchain_core.embeddings import Embeddings

from bot.knowledge.embeddings import embeddings_model_id
from bot.knowledge.index_embedding import embed_for_index
from bot.knowledge.loaders import DocumentLoadError, MetadataWarning, PolicyDocument, load_sources
from bot.knowledge.settings import EmbeddingSettings
from bot.knowledge.stores.protocol import PolicyIndex
from bot.knowledge.splitting import Chunk, Splitter
from bot.settings import Settings

# on_progress(stage, done, total): stages are "load", "split" and "embed".
ProgressCallback = Callable[[str, int, int], None]


class ReindexError(Exception):
    """The reindex did not commit; the previous index keeps serving."""


@dataclass
class IndexSummary:
    generation: int
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    chunks_embedded: int = 0
    chunks_total: int = 0
    documents_total: int = 0
    seconds: float = 0.0
    full: bool = False
    errors: list[DocumentLoadError] = field(default_factory=list)  # files skipped
    warnings: list[MetadataWarning] = field(default_factory=list)  # indexed, but no url or title

    def to_dict(self) -> dict:
        data = {k: v for k, v in self.__dict__.items() if k not in ("errors", "warnings")}
        data["errors"] = [str(e) for e in self.errors]
        data["warnings"] = [str(w) for w in self.warnings]
        return data


def _nothing(stage: str, done: int, total: int) -> None:
    return None


def reindex(
    settings: Settings,
    index: PolicyIndex,
    embeddings: Embeddings,
    *,
    full: bool = False,
    on_progress: ProgressCallback = _nothing,
) -> IndexSummary:
    started = time.perf_counter()
    loaded = load_sources(settings.knowledge)
    on_progress("load", len(loaded.documents), len(loaded.documents))
    if full and loaded.errors:
        raise ReindexError("A full rebuild needs every policy file readable; fix these first "
                           "(the current index keeps serving):\n" + _bullets(loaded.errors))

    splitter = Splitter(settings.chunking)
    pipeline = f"{splitter.signature}|{embeddings_model_id(settings.embeddings)}"
    indexed = {} if full else index.document_hashes()
    indexed_paths = {} if full else index.document_paths()
    summary = IndexSummary(generation=index.generation(), full=full, errors=loaded.errors,
                           warnings=loaded.warnings)

    changed: list[tuple[PolicyDocument, str]] = []
    for document in loaded.documents:
        content_hash = document.content_hash(pipeline)
        previous = indexed.get(document.id)
        if previous == content_hash:
            summary.unchanged += 1
            continue
        changed.append((document, content_hash))
        summary.added += previous is None
        summary.updated += previous is not None
    current_ids = {d.id for d in loaded.documents}
    # A file that failed to load is not a deleted file: its chunks stay until it loads again.
    removed = [doc_id for doc_id in indexed if doc_id not in current_ids
               and indexed_paths.get(doc_id) not in loaded.failed_paths]
    summary.deleted = len(removed)

    chunks: list[Chunk] = []
    for number, (document, content_hash) in enumerate(changed, start=1):
        chunks.extend(splitter.split(document, content_hash))
        on_progress("split", number, len(changed))
    try:
        vectors = _embed(embeddings, chunks, settings.embeddings, on_progress)
        with index.begin_update(full=full, embedding_model=embeddings_model_id(settings.embeddings)) as update:
            update.delete_documents([d.id for d, _ in changed if d.id in indexed] + removed)
            update.upsert(chunks, vectors)
            summary.generation = update.commit()
    except Exception as exc:
        raise ReindexError(f"Reindex failed and changed nothing; the previous index (generation "
                           f"{summary.generation}) keeps serving. Cause: {exc}") from exc
    summary.chunks_embedded = len(chunks)
    summary.chunks_total = index.count()
    summary.documents_total = len(index.document_hashes())
    summary.seconds = time.perf_counter() - started
    return summary


def _embed(embeddings: Embeddings, chunks: list[Chunk], settings: EmbeddingSettings,
           on_progress: ProgressCallback) -> np.ndarray:
    texts = [chunk.embedding_text() for chunk in chunks]
    return embed_for_index(embeddings, texts, settings.batch_size, lambda done, total: on_progress("embed", done, total),
                           sessions=settings.index_sessions)


def _bullets(errors: list[DocumentLoadError]) -> str:
    return "\n".join(f"  - {error}" for error in errors)
