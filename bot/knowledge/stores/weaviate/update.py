"""Writing a Weaviate knowledge base: incremental updates in place, full rebuilds beside it.

Changes are staged in memory and written on commit(), so nothing is sent for an update that is
abandoned. Writes and deletes name the live collection itself (read from the alias at commit), never
the alias: Weaviate 1.32.3-1.32.5 refuse a delete by filter through an alias, and a write that
resolved the alias must not land in a collection a concurrent rebuild just replaced. Then:
- incremental: upsert the new chunks (ids are deterministic, so a changed chunk overwrites itself),
  then delete what the changed and removed documents no longer have. An interrupted write leaves a
  document with fewer chunks than its chunk_count says, which document_hashes() reports as
  changed, so the next run writes it again.
- full: fill a new versioned collection (or, with multi-tenancy, a new tenant), check its object
  count, then switch the alias (or the team's live tenant) to it and retire the old one, which is
  dropped after weaviate.drop_grace_s (generations.py). Until the switch every search is answered
  from the old data; a failure before it leaves the old data live. If the switch itself reports an
  error, the alias is read back before anything is removed: Weaviate may have switched anyway.
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

from bot.knowledge.splitting import Chunk
from bot.knowledge.stores.protocol import IndexStoreError
from bot.knowledge.stores.weaviate import shards
from bot.knowledge.stores.weaviate.schema import (
    KnowledgeBaseMeta,
    chunk_properties,
    meta_collection_name,
    meta_object_id,
    policy_collection,
    version_of,
    versioned_name,
)

if TYPE_CHECKING:
    from bot.knowledge.stores.weaviate.index import WeaviateIndex

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
        finally:
            self._done = True
        self._sweep()
        return generation

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

    def _live(self) -> str:
        with self._store.translated("reading which collection is live"):
            return self._store.live_collection()

    def _by_name(self, collection: str, shard: str | None = None):
        handle = self._store.client.collections.use(collection)
        return handle.with_tenant(shard) if shard else handle

    def _write_in_place(self, generation: int) -> str:
        live, shard, team = self._live(), self._base.shard, self._index.tenant
        if team is not None and not shard:
            shard = shards.shard_name(team, generation)
            with self._store.translated(f"creating tenant {shard}"):
                shards.create(self._store.client, live, shard)
        elif team is not None:
            self._store.activate(team, shard)
        collection = self._by_name(live, shard or None)
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

    # ----- full rebuilds --------------------------------------------------------------------

    def _rebuild(self, generation: int) -> str:
        objects = self._objects()
        if self._index.tenant is not None:
            return self._rebuild_tenant(generation, objects)
        client, alias = self._store.client, self._store.alias
        old = self._live()
        number = generation
        while versioned_name(alias, number) == old:  # an earlier switch went unrecorded
            number += 1
        target = versioned_name(alias, number)
        with self._store.translated(f"building collection {target}"):
            if client.collections.exists(target):  # left by an interrupted rebuild
                client.collections.delete(target)
            client.collections.create(**policy_collection(target, multi_tenancy=False))
        try:
            collection = client.collections.use(target)
            self._insert(collection, objects, f"filling collection {target}")
            self._verify_count(collection, len(objects), target)
        except BaseException:
            self._drop(lambda: client.collections.delete(target), f"collection {target}")
            raise
        self._switch(target)
        log.info("alias switched", alias=alias, collection=target, previous=old, objects=len(objects))
        self._retire(old, tenant=None)
        return ""

    def _switch(self, target: str) -> None:
        """Point the alias at the new collection; on an error, remove it only if it is not live."""
        client, alias = self._store.client, self._store.alias
        try:
            with self._store.translated(f"pointing alias {alias} at {target}"):
                switched = client.alias.update(alias_name=alias, new_target_collection=target)
        except BaseException as exc:
            if not self._alias_points_at(target, exc):
                self._drop(lambda: client.collections.delete(target), f"collection {target}")
                raise
            if not isinstance(exc, Exception):
                raise
            log.warning("the alias switch reported an error but took effect", alias=alias,
                        collection=target, error=str(exc))
            return
        if not switched:
            self._drop(lambda: client.collections.delete(target), f"collection {target}")
            raise IndexStoreError(f"Alias {alias} disappeared during the rebuild; nothing was "
                                  "switched. Restart the bot (it recreates the alias) and run again.")

    def _alias_points_at(self, target: str, cause: BaseException) -> bool:
        try:
            with self._store.translated(f"checking where alias {self._store.alias} points"):
                return self._store.live_collection() == target
        except IndexStoreError as exc:
            raise IndexStoreError(
                f"Switching alias {self._store.alias} to {target} failed ({cause}) and whether it took "
                f"effect could not be checked ({exc}). Nothing was removed; once Weaviate answers, "
                "run `supportbot index --full` again.") from cause

    def _rebuild_tenant(self, generation: int, objects: list[DataObject]) -> str:
        live, shard = self._live(), shards.shard_name(self._index.tenant, generation)
        with self._store.translated(f"creating tenant {shard}"):
            shards.create(self._store.client, live, shard)
        try:
            collection = self._by_name(live, shard)
            self._insert(collection, objects, f"filling tenant {shard}")
            self._verify_count(collection, len(objects), f"tenant {shard}")
        except BaseException:
            self._drop(lambda: shards.remove(self._store.client, live, shard), f"tenant {shard}")
            raise
        return shard  # _record() makes it live; the old tenant is retired after that

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

    # ----- bookkeeping ----------------------------------------------------------------------

    def _record(self, generation: int, shard: str) -> KnowledgeBaseMeta:
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
            self._retire(old_shard, tenant=tenant)
        return KnowledgeBaseMeta(generation=generation, embedding_model=self._model or None, shard=shard)

    def _retire(self, name: str, *, tenant: str | None) -> None:
        """Hand the replaced collection or tenant to the sweep; losing the record only costs space."""
        number = version_of(self._store.alias, name) if tenant is None else None
        try:
            with self._store.translated(f"recording {name} as replaced"):
                self._store.generations.retire(name, tenant=tenant,
                                               generation=self._base.generation if number is None else number)
        except IndexStoreError as exc:
            log.warning("could not record a replaced collection for dropping later; drop it by hand",
                        name=name, error=str(exc))

    def _sweep(self) -> None:
        try:
            self._store.sweep()
        except IndexStoreError as exc:
            log.warning("could not drop replaced collections; a later run will", error=str(exc))

    def _drop(self, action, what: str) -> None:
        """Clean-up that must not hide the outcome: a failure here is logged, not raised."""
        try:
            with self._store.translated(f"removing {what}"):
                action()
        except IndexStoreError as exc:
            log.warning("clean-up failed; remove it by hand", what=what, error=str(exc))
