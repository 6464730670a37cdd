"""WeaviateIndex: one knowledge base on Weaviate (the whole collection, or one team's tenant) as the
PolicyIndex a Retriever searches and the indexer writes.

Reads go through the alias, and recover once from what a rebuild elsewhere can do to them: a search
that resolved the alias just before a switch and finds its collection dropped asks again (the alias
now names the new one); a team tenant that another process retired is looked up afresh; one that
Weaviate deactivated is activated (shards.py). Anything else is reported as it is.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import numpy as np
from weaviate.classes.query import Filter, HybridFusion, MetadataQuery

from bot.knowledge.stores.protocol import IndexStoreError, SearchHit, SearchQuery
from bot.knowledge.stores.weaviate import shards
from bot.knowledge.stores.weaviate.schema import CHUNK_PROPERTIES, chunk_from_properties
from bot.knowledge.stores.weaviate.update import WeaviateIndexUpdate
from bot.types import Audience

if TYPE_CHECKING:
    from bot.knowledge.stores.weaviate.store import WeaviateStore

VECTOR = "default"  # the one named vector of the policy collection
_KEYWORD_SCORE = re.compile(r"Result Set keyword[^\n]*?original score (-?[\d.]+(?:e[-+]?\d+)?)", re.I)
# What Weaviate answers when the collection a request resolved is gone: dropped before the request
# looked it up, or while it ran (adapters/handlers/grpc/v1/service.go, adapters/repos/db/search.go
# and shard.go errAlreadyShutdown).
_GONE = ("could not find class", "non-existing index", "already shut or dropped")
T = TypeVar("T")


def collection_gone(exc: BaseException) -> bool:
    text = f"{exc} {exc.__cause__ or ''}".lower()
    return any(marker in text for marker in _GONE)


class WeaviateIndex:
    def __init__(self, store: WeaviateStore, tenant: str | None) -> None:
        self.store = store
        self.tenant = tenant

    def collection(self, shard: str | None = None):
        """The alias, scoped to this team's live tenant when multi-tenancy is on."""
        handle = self.store.client.collections.use(self.store.alias)
        if self.tenant is None:
            return handle
        shard = shard if shard is not None else self.store.meta(self.tenant).shard
        return handle.with_tenant(shard) if shard else None

    def _recovering(self, read: Callable[[], T]) -> T:
        """Run a read; after a rebuild elsewhere pulled something from under it, once more."""
        try:
            return read()
        except IndexStoreError as exc:
            if self.tenant is not None and shards.not_active(exc):
                self.store.activate(self.tenant, self.store.meta(self.tenant).shard)
            elif self.tenant is not None and shards.not_found(exc):
                self.store.meta(self.tenant, fresh=True)  # the team's tenant we knew was replaced
            elif not collection_gone(exc):
                raise
        return read()

    # ----- reading --------------------------------------------------------------------------

    def generation(self) -> int:
        return self.store.meta(self.tenant).generation

    def embedding_model(self) -> str | None:
        return self.store.meta(self.tenant, fresh=True).embedding_model

    def count(self) -> int:
        self.store.meta(self.tenant, fresh=True)
        return self._recovering(self._count)

    def _count(self) -> int:
        collection = self.collection()
        if collection is None:
            return 0
        with self.store.translated("counting objects"):
            return collection.aggregate.over_all(total_count=True).total_count or 0

    def document_hashes(self) -> dict[str, str]:
        return {doc: info[0] for doc, info in self._documents().items()}

    def document_paths(self) -> dict[str, str]:
        return {doc: info[1] for doc, info in self._documents().items()}

    def _documents(self) -> dict[str, tuple[str, str]]:
        """document id -> (content hash, source path); a document missing chunks (an interrupted
        write) reports an empty hash, so the next reindex writes it again."""
        self.store.meta(self.tenant, fresh=True)
        return self._recovering(self._list_documents)

    def _list_documents(self) -> dict[str, tuple[str, str]]:
        collection = self.collection()
        if collection is None:
            return {}
        found: dict[str, list[tuple[str, int]]] = defaultdict(list)  # (hash, chunk_count) per chunk
        paths: dict[str, str] = {}
        with self.store.translated("listing indexed documents"):
            for obj in collection.iterator(return_properties=[
                    "document_id", "content_hash", "source_path", "chunk_count"]):
                props = obj.properties
                found[props["document_id"]].append(
                    (props.get("content_hash") or "", int(props.get("chunk_count") or 0)))
                paths[props["document_id"]] = props.get("source_path") or ""
        return {doc: (_complete_hash(chunks), paths[doc]) for doc, chunks in found.items()}

    def search(self, query: SearchQuery) -> list[SearchHit]:
        return self._recovering(lambda: self._search(query))

    def _search(self, query: SearchQuery) -> list[SearchHit]:
        collection = self.collection()
        if collection is None:
            return []
        vector = np.asarray(query.vector, dtype=np.float32)
        audience = (None if query.audience == Audience.STAFF
                    else Filter.by_property("audience").equal(str(Audience.PUBLIC)))
        with self.store.translated("searching"):
            result = collection.query.hybrid(
                query=query.text.strip() or None, vector=vector.tolist(), target_vector=VECTOR,
                alpha=query.alpha, limit=query.limit, filters=audience,
                fusion_type=HybridFusion.RELATIVE_SCORE,
                query_properties=["text", "title"],
                return_metadata=MetadataQuery(score=True, explain_score=True),
                return_properties=CHUNK_PROPERTIES, include_vector=True,
            )
        return [self._hit(obj, vector) for obj in result.objects]

    @staticmethod
    def _hit(obj, query_vector: np.ndarray) -> SearchHit:
        stored = np.asarray(obj.vector.get(VECTOR, ()), dtype=np.float32)
        norms = float(np.linalg.norm(stored) * np.linalg.norm(query_vector))
        # Grounding thresholds are calibrated on cosine similarity, which Weaviate's fused score
        # is not; the stored vector comes back with the hit, so compute it exactly.
        similarity = float(stored @ query_vector) / norms if norms and len(stored) else 0.0
        found = _KEYWORD_SCORE.search(obj.metadata.explain_score or "")
        return SearchHit(
            chunk=chunk_from_properties(str(obj.uuid), obj.properties),
            score=float(obj.metadata.score or 0.0), similarity=similarity,
            keyword_score=float(found.group(1)) if found else 0.0, vector=stored if len(stored) else None,
        )

    # ----- writing --------------------------------------------------------------------------

    def begin_update(self, *, full: bool = False, embedding_model: str = "") -> WeaviateIndexUpdate:
        return WeaviateIndexUpdate(self, full=full, embedding_model=embedding_model)


def _complete_hash(chunks: list[tuple[str, int]]) -> str:
    """The document's hash when all its chunks are there and agree on it, else ""."""
    kinds = set(chunks)
    if len(kinds) == 1 and next(iter(kinds))[1] == len(chunks):
        return chunks[0][0]
    return ""
