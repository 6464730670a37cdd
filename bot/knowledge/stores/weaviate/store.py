"""Weaviate as the policy index: WeaviateStore (one connection, the schema, the generations) and
WeaviateIndex (one knowledge base, the PolicyIndex a Retriever searches).

Searches go through a collection alias, so a full rebuild can fill a new collection and switch the
alias without a moment of missing answers. Generations live in a small metadata collection, so
every process (bot workers, the indexer) agrees on them; generation() answers from a copy that is
refreshed in the background, because the service reads it on the event loop.

Why not langchain-weaviate's WeaviateVectorStore: it embeds texts itself (we re-embed only changed
documents), assigns random ids unless told, only logs failed batch objects where a reindex must
fail, knows no aliases, and returns fused scores without the cosine similarity grounding needs.
"""

from __future__ import annotations

import atexit
import re
from collections import defaultdict
import threading
import time
from dataclasses import dataclass

import numpy as np
import structlog
import weaviate
from weaviate.classes.query import Filter, HybridFusion, MetadataQuery
from weaviate.exceptions import WeaviateBaseError

from bot.knowledge.stores.protocol import IndexStoreError, SearchHit, SearchQuery
from bot.knowledge.stores.weaviate.connection import connect, translated
from bot.knowledge.stores.weaviate.schema import (
    CHUNK_PROPERTIES,
    META_PROPERTIES,
    chunk_from_properties,
    check_tenant,
    meta_collection,
    meta_collection_name,
    policy_collection,
    versioned_name,
)
from bot.settings import WeaviateSettings
from bot.types import Audience

log = structlog.get_logger(__name__)
VECTOR = "default"  # the one named vector of the policy collection
_KEYWORD_SCORE = re.compile(r"Result Set keyword[^\n]*?original score (-?[\d.]+(?:e[-+]?\d+)?)", re.I)


@dataclass(frozen=True)
class KnowledgeBaseMeta:
    generation: int = 0
    embedding_model: str | None = None
    shard: str = ""  # with multi-tenancy: the Weaviate tenant that holds the live generation


class WeaviateStore:
    """The connection and bookkeeping shared by every knowledge base on one Weaviate."""

    def __init__(self, settings: WeaviateSettings, *, client: weaviate.WeaviateClient | None = None) -> None:
        self.settings = settings
        self.alias = settings.collection
        self.multi_tenancy = settings.multi_tenancy
        self.client = client or connect(settings)
        self._meta: dict[str | None, KnowledgeBaseMeta] = {}
        self._meta_lock = threading.Lock()
        self._fetched_at = 0.0
        self._refreshing = threading.Lock()
        self._indexes: dict[str | None, WeaviateIndex] = {}
        self._closed = False
        with self.translated("preparing the collections"):
            self._ensure_schema()
        self.refresh()
        atexit.register(self.close)

    def translated(self, doing: str):
        return translated(self.settings, doing)

    # ----- schema ---------------------------------------------------------------------------

    def _ensure_schema(self) -> None:
        meta_name = meta_collection_name(self.alias)
        if not self.client.collections.exists(meta_name):
            self._create_quietly(meta_collection(meta_name))
        if self.client.alias.get(alias_name=self.alias) is None:
            first = versioned_name(self.alias, 0)
            if not self.client.collections.exists(first):
                self._create_quietly(policy_collection(first, multi_tenancy=self.multi_tenancy))
            try:
                self.client.alias.create(alias_name=self.alias, target_collection=first)
            except WeaviateBaseError:
                if self.client.alias.get(alias_name=self.alias) is None:  # not a start-up race
                    raise
        self._check_tenancy_matches()

    def _create_quietly(self, config: dict) -> None:
        """Create a collection; another process creating it at the same moment is fine."""
        try:
            self.client.collections.create(**config)
        except WeaviateBaseError:
            if not self.client.collections.exists(config["name"]):
                raise

    def _check_tenancy_matches(self) -> None:
        live = self.live_collection()
        config = self.client.collections.export_config(live)
        if config.multi_tenancy_config.enabled != self.multi_tenancy:
            want = "on" if self.multi_tenancy else "off"
            raise IndexStoreError(
                f"Collection {live} (behind alias {self.alias}) was created with multi-tenancy "
                f"{'on' if config.multi_tenancy_config.enabled else 'off'}, but weaviate.multi_tenancy "
                f"is {want}. Use another weaviate.collection name for the new layout, or set "
                "weaviate.multi_tenancy back.")

    def live_collection(self) -> str:
        """The collection the alias points at now."""
        found = self.client.alias.get(alias_name=self.alias)
        if found is None:
            raise IndexStoreError(f"Alias {self.alias} is missing in Weaviate; restart the bot or run "
                                  "`supportbot index --full` to recreate it.")
        return found.collection

    # ----- generations ----------------------------------------------------------------------

    def refresh(self) -> None:
        """Read every knowledge base's metadata (one query)."""
        with self.translated("reading index generations"):
            result = self.client.collections.use(meta_collection_name(self.alias)).query.fetch_objects(
                filters=Filter.by_property("alias").equal(self.alias), limit=10_000,
                return_properties=META_PROPERTIES,
            )
        fresh = {}
        for obj in result.objects:
            props = obj.properties
            fresh[props.get("tenant") or None] = KnowledgeBaseMeta(
                generation=int(props.get("generation") or 0),
                embedding_model=props.get("embedding_model") or None, shard=props.get("shard") or "")
        with self._meta_lock:
            self._meta, self._fetched_at = fresh, time.monotonic()

    def meta(self, tenant: str | None, *, fresh: bool = False) -> KnowledgeBaseMeta:
        """This knowledge base's metadata; fresh=True reads Weaviate (for writers, not the event loop)."""
        if fresh:
            self.refresh()
        else:
            self._refresh_in_background_if_stale()
        with self._meta_lock:
            return self._meta.get(tenant, KnowledgeBaseMeta())

    def _refresh_in_background_if_stale(self) -> None:
        if time.monotonic() - self._fetched_at < self.settings.refresh_s or self._closed:
            return
        if not self._refreshing.acquire(blocking=False):
            return  # one refresh at a time

        def run() -> None:
            try:
                self.refresh()
            except IndexStoreError as exc:  # keep serving the last known generations
                log.warning("could not refresh index generations", error=str(exc))
            finally:
                self._refreshing.release()

        threading.Thread(target=run, name="weaviate-generations", daemon=True).start()

    def remember(self, tenant: str | None, meta: KnowledgeBaseMeta) -> None:
        with self._meta_lock:
            self._meta = {**self._meta, tenant: meta}

    # ----- knowledge bases ------------------------------------------------------------------

    def index_for(self, tenant: str | None = None) -> WeaviateIndex:
        if self.multi_tenancy and tenant is None:
            raise IndexStoreError("weaviate.multi_tenancy is on, so every knowledge base belongs to a "
                                  "team: name the Slack workspace or Discord server id (--tenant).")
        if not self.multi_tenancy and tenant is not None:
            tenant = None  # one shared knowledge base
        try:
            key = check_tenant(tenant) if tenant else None
        except ValueError as exc:
            raise IndexStoreError(str(exc)) from None
        with self._meta_lock:
            if key not in self._indexes:
                self._indexes[key] = WeaviateIndex(self, key)
            return self._indexes[key]

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.client.close()


class WeaviateIndex:
    """One knowledge base (the whole collection, or one team's tenant) as a PolicyIndex."""

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

    # ----- reading --------------------------------------------------------------------------

    def generation(self) -> int:
        return self.store.meta(self.tenant).generation

    def embedding_model(self) -> str | None:
        return self.store.meta(self.tenant, fresh=True).embedding_model

    def count(self) -> int:
        self.store.meta(self.tenant, fresh=True)
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
        try:
            return self._search(query)
        except IndexStoreError as exc:
            if self.tenant is None or "tenant" not in str(exc).lower():
                raise
            # A full rebuild in another process may have retired the tenant we know of.
            self.store.meta(self.tenant, fresh=True)
            return self._search(query)

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
            keyword_score=float(found.group(1)) if found else 0.0,
        )

    # ----- writing --------------------------------------------------------------------------

    def begin_update(self, *, full: bool = False, embedding_model: str = ""):
        from bot.knowledge.stores.weaviate.update import WeaviateIndexUpdate

        return WeaviateIndexUpdate(self, full=full, embedding_model=embedding_model)


def _complete_hash(chunks: list[tuple[str, int]]) -> str:
    """The document's hash when all its chunks are there and agree on it, else ""."""
    kinds = set(chunks)
    if len(kinds) == 1 and next(iter(kinds))[1] == len(chunks):
        return chunks[0][0]
    return ""
