"""Writing a Weaviate knowledge base: incremental updates in place, full rebuilds beside it.

Changes are staged in memory and written on commit(), so nothing is sent for an update that is
abandoned. Then:
- incremental: upsert the new chunks (ids are deterministic, so a changed chunk overwrites itself),
  then delete what the changed and removed documents no longer have. An interrupted write leaves a
  document with fewer chunks than its chunk_count says, which document_hashes() reports as
  changed, so the next run writes it again.
- full: fill a new versioned collection (or, with multi-tenancy, a new tenant), check its object
  count, then switch the alias (or the team's live tenant) to it and drop the old one. Until that
  switch every search is answered from the old data; a failure before it leaves the old data live.
Any object Weaviate rejects fails the commit.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import structlog
from weaviate.classes.data import DataObject
from weaviate.classes.query import Filter

from bot.knowledge.stores.protocol import IndexStoreError
from bot.knowledge.splitting import Chunk
from bot.knowledge.stores.weaviate.schema import (
    chunk_properties,
    meta_collection_name,
    meta_object_id,
    policy_collection,
    shard_name,
    versioned_name,
)

if TYPE_CHECKING:
    from bot.knowledge.stores.weaviate.store import KnowledgeBaseMeta, WeaviateIndex

log = structlog.get_logger(__name__)
DELETE_GROUP = 50  # documents per delete request
MAX_DELETE_MATCHES = 10_000  # Weaviate's default QUERY_MAXIMUM_RESULTS caps one delete request


class WeaviateIndexUpdate:
    def __init__(self, index: WeaviateIndex, *, full: bool, embedding_model: str) -> None:
        self._index = index
        self._store = index.store
        self._full = full
        self._model = embedding_model
        self._base = self._store.meta(index.tenant, fresh=True)
        self._upserts: dict[str, tuple[Chunk, np.ndarray]] = {}
        self._deleted: set[str] = set()
        self._done = False

    # ----- staging --------------------------------------------------------------------------

    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        if len(chunks) != len(vectors):
            raise ValueError("one vector per chunk")
        for chunk, vector in zip(chunks, vectors, strict=True):
            self._upserts[chunk.id] = (chunk, np.asarray(vector, dtype=np.float32))

    def delete_documents(self, document_ids: Iterable[str]) -> None:
        doomed = set(document_ids)
        self._upserts = {cid: item for cid, item in self._upserts.items()
                         if item[0].document_id not in doomed}
        self._deleted |= doomed

    def abort(self) -> None:
        self._done = True

    def __enter__(self) -> WeaviateIndexUpdate:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if not self._done:
            self.abort()

    # ----- writing --------------------------------------------------------------------------

    def commit(self) -> int:
        try:
            self._check_no_other_commit()
            generation = self._base.generation + 1
            if self._full:
                shard = self._rebuild(generation)
            else:
                shard = self._write_in_place(generation)
            meta = self._record(generation, shard)
            self._store.remember(self._index.tenant, meta)
            return generation
        finally:
            self._done = True

    def _check_no_other_commit(self) -> None:
        now = self._store.meta(self._index.tenant, fresh=True)
        if now.generation != self._base.generation:
            raise IndexStoreError(
                f"Another `supportbot index` committed generation {now.generation} while this one "
                "ran; nothing was written. Run it again.")

    def _lengths(self) -> dict[str, int]:
        """Each upserted document's chunk count (its chunks are numbered 0..n-1)."""
        lengths: dict[str, int] = defaultdict(int)
        for chunk, _ in self._upserts.values():
            lengths[chunk.document_id] = max(lengths[chunk.document_id], chunk.index + 1)
        return lengths

    def _objects(self) -> list[DataObject]:
        lengths = self._lengths()
        ordered = sorted(self._upserts.values(), key=lambda item: (item[0].document_id, item[0].index))
        return [DataObject(uuid=chunk.id, properties=chunk_properties(chunk, lengths[chunk.document_id]),
                           vector={"default": vector.tolist()})
                for chunk, vector in ordered]

    def _write_in_place(self, generation: int) -> str:
        shard = self._base.shard
        if self._index.tenant is not None and not shard:
            shard = shard_name(self._index.tenant, generation)
            self._create_shard(shard)
        collection = self._index.collection(shard)
        self._insert(collection, self._objects(), "writing changed chunks")
        self._delete_stale(collection)
        return shard

    def _delete_stale(self, collection) -> None:
        """Chunks of changed documents past their new length, and every chunk of removed ones."""
        new_length = self._lengths()
        doomed = sorted(self._deleted)
        for start in range(0, len(doomed), DELETE_GROUP):
            where = Filter.any_of([
                Filter.by_property("document_id").equal(doc)
                & Filter.by_property("chunk_index").greater_or_equal(new_length[doc])
                for doc in doomed[start : start + DELETE_GROUP]
            ])
            while True:
                with self._store.translated("deleting removed chunks"):
                    result = collection.data.delete_many(where=where)
                if result.failed:
                    raise IndexStoreError(f"Weaviate failed to delete {result.failed} of {result.matches} "
                                          "chunks of removed documents; run `supportbot index` again.")
                if result.matches < MAX_DELETE_MATCHES:
                    break

    def _rebuild(self, generation: int) -> str:
        objects = self._objects()
        if self._index.tenant is not None:
            return self._rebuild_tenant(generation, objects)
        client, alias = self._store.client, self._store.alias
        target = versioned_name(alias, generation)
        with self._store.translated(f"building collection {target}"):
            old = self._store.live_collection()
            if client.collections.exists(target):  # left by an interrupted rebuild
                client.collections.delete(target)
            client.collections.create(**policy_collection(target, multi_tenancy=False))
        try:
            collection = client.collections.use(target)
            self._insert(collection, objects, f"filling collection {target}")
            self._verify_count(collection, len(objects), target)
            with self._store.translated(f"pointing alias {alias} at {target}"):
                switched = client.alias.update(alias_name=alias, new_target_collection=target)
            if not switched:
                raise IndexStoreError(f"Alias {alias} disappeared during the rebuild; nothing was "
                                      "switched. Restart the bot (it recreates the alias) and run again.")
        except BaseException:
            self._drop(lambda: client.collections.delete(target), f"collection {target}")
            raise
        log.info("alias switched", alias=alias, collection=target, previous=old, objects=len(objects))
        if old != target:
            self._drop(lambda: client.collections.delete(old), f"previous collection {old}")
        return ""

    def _rebuild_tenant(self, generation: int, objects: list[DataObject]) -> str:
        shard = shard_name(self._index.tenant, generation)
        self._create_shard(shard)
        collection = self._index.collection(shard)
        try:
            self._insert(collection, objects, f"filling tenant {shard}")
            self._verify_count(collection, len(objects), f"tenant {shard}")
        except BaseException:
            self._drop(lambda: self._tenants().remove([shard]), f"tenant {shard}")
            raise
        return shard  # _record() makes it live; the old tenant goes after that

    def _tenants(self):
        # Tenant management is a schema operation: address the collection itself, not the alias.
        return self._store.client.collections.use(self._store.live_collection()).tenants

    def _create_shard(self, shard: str) -> None:
        with self._store.translated(f"creating tenant {shard}"):
            tenants = self._tenants()
            if tenants.exists(shard):  # left by an interrupted rebuild
                tenants.remove([shard])
            tenants.create([shard])

    def _insert(self, collection, objects: list[DataObject], doing: str) -> None:
        size = self._store.settings.batch_size
        for start in range(0, len(objects), size):
            batch = objects[start : start + size]
            with self._store.translated(doing):
                result = collection.data.insert_many(batch)
            if result.has_errors:
                first = next(iter(result.errors.values()))
                raise IndexStoreError(
                    f"Weaviate rejected {len(result.errors)} of {len(batch)} objects while {doing} "
                    f"(first: {first.original_uuid}: {first.message}); the index was not switched.")

    def _verify_count(self, collection, expected: int, what: str) -> None:
        with self._store.translated(f"counting {what}"):
            found = collection.aggregate.over_all(total_count=True).total_count or 0
        if found != expected:
            raise IndexStoreError(f"{what} holds {found} objects after the import, expected {expected}; "
                                  "the index was not switched. Run `supportbot index --full` again.")

    def _record(self, generation: int, shard: str) -> KnowledgeBaseMeta:
        from bot.knowledge.stores.weaviate.store import KnowledgeBaseMeta

        tenant, store = self._index.tenant, self._store
        props = {"alias": store.alias, "tenant": tenant or "", "generation": generation,
                 "embedding_model": self._model, "shard": shard,
                 "updated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
        meta = store.client.collections.use(meta_collection_name(store.alias))
        with store.translated("recording the new generation"):
            result = meta.data.insert_many([DataObject(uuid=meta_object_id(store.alias, tenant),
                                                       properties=props)])
        if result.has_errors:
            raise IndexStoreError(f"The new index is in place but its generation could not be recorded "
                                  f"({next(iter(result.errors.values())).message}); run the index again.")
        old_shard = self._base.shard
        if tenant is not None and old_shard and old_shard != shard:
            self._drop(lambda: self._tenants().remove([old_shard]), f"previous tenant {old_shard}")
        return KnowledgeBaseMeta(generation=generation, embedding_model=self._model or None, shard=shard)

    def _drop(self, action, what: str) -> None:
        """Clean-up that must not hide the outcome: a failure here is logged, not raised."""
        try:
            with self._store.translated(f"removing {what}"):
                action()
        except IndexStoreError as exc:
            log.warning("clean-up failed; remove it by hand", what=what, error=str(exc))
