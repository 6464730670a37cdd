"""WeaviateStore: one connection to Weaviate, the schema, and the generations of every knowledge base.

Searches go through a collection alias, so a full rebuild can fill a new collection and switch the
alias without a moment of missing answers; writes address the collection behind it by name. The
generations live in a small metadata collection, so every process (bot workers, the indexer) agrees
on them; generation() answers from a copy that is refreshed in the background, because the service
reads it on the event loop. The same background pass drops collections replaced by a rebuild once
their grace period is over (generations.py).

At start-up the store creates what is missing and repairs an alias left pointing at a collection
that is gone (Weaviate keeps aliases when their collection is deleted), so a restart always brings
searches back. WeaviateIndex (index.py) is one knowledge base on it: the PolicyIndex a Retriever uses.

Why not langchain-weaviate's WeaviateVectorStore: it embeds texts itself (we re-embed only changed
documents), assigns random ids unless told, only logs failed batch objects where a reindex must
fail, knows no aliases, and returns fused scores without the cosine similarity grounding needs.
"""

from __future__ import annotations

import atexit
import threading
import time

import structlog
import weaviate
from weaviate.classes.query import Filter
from weaviate.exceptions import WeaviateBaseError

from bot.knowledge.stores.protocol import IndexStoreError
from bot.knowledge.stores.weaviate import shards
from bot.knowledge.stores.weaviate.connection import connect, translated
from bot.knowledge.stores.weaviate.generations import Generations, Retired
from bot.knowledge.stores.weaviate.index import WeaviateIndex
from bot.knowledge.stores.weaviate.schema import (
    META_PROPERTIES,
    KnowledgeBaseMeta,
    check_tenant,
    meta_collection,
    meta_collection_name,
    policy_collection,
    versioned_name,
)
from bot.settings import WeaviateSettings

log = structlog.get_logger(__name__)


class WeaviateStore:
    """The connection and bookkeeping shared by every knowledge base on one Weaviate."""

    def __init__(self, settings: WeaviateSettings, *, client: weaviate.WeaviateClient | None = None) -> None:
        self.settings = settings
        self.alias = settings.collection
        self.multi_tenancy = settings.multi_tenancy
        self.client = client or connect(settings)
        self.generations = Generations(self.client, self.alias, settings.drop_grace_s)
        self._meta: dict[str | None, KnowledgeBaseMeta] = {}
        self._meta_lock = threading.Lock()
        self._fetched_at = 0.0
        self._swept_at = 0.0
        self._refreshing = threading.Lock()
        self._indexes: dict[str | None, WeaviateIndex] = {}
        self._closed = False
        with self.translated("preparing the collections"):
            self._ensure_schema()
        self.refresh()
        self._tidy_up()
        atexit.register(self.close)

    def translated(self, doing: str):
        return translated(self.settings, doing)

    # ----- schema ---------------------------------------------------------------------------

    def _ensure_schema(self) -> None:
        meta_name = meta_collection_name(self.alias)
        if not self.client.collections.exists(meta_name):
            self._create_quietly(meta_collection(meta_name))
        found = self.client.alias.get(alias_name=self.alias)
        if found is None:
            first = versioned_name(self.alias, 0)
            if not self.client.collections.exists(first):
                self._create_quietly(policy_collection(first, multi_tenancy=self.multi_tenancy))
            try:
                self.client.alias.create(alias_name=self.alias, target_collection=first)
            except WeaviateBaseError:
                if self.client.alias.get(alias_name=self.alias) is None:  # not a start-up race
                    raise
        elif not self.client.collections.exists(found.collection):
            self._repair_dangling_alias(found.collection)
        self._check_tenancy_matches()

    def _create_quietly(self, config: dict) -> None:
        """Create a collection; another process creating it at the same moment is fine."""
        try:
            self.client.collections.create(**config)
        except WeaviateBaseError:
            if not self.client.collections.exists(config["name"]):
                raise

    def _repair_dangling_alias(self, missing: str) -> None:
        """Point the alias at the newest complete generation left, or at a new empty collection."""
        replacement = self.generations.newest_complete(missing)
        if replacement is None:
            replacement = self.generations.unused_name()
            self._create_quietly(policy_collection(replacement, multi_tenancy=self.multi_tenancy))
            log.error("the alias pointed at a collection that is gone and no earlier generation is "
                      "left; the knowledge base is empty until `supportbot index --full` runs",
                      alias=self.alias, missing=missing, now=replacement)
        else:
            log.warning("the alias pointed at a collection that is gone; pointed it at the newest "
                        "complete generation left (run `supportbot index` to bring it up to date)",
                        alias=self.alias, missing=missing, now=replacement)
        self.client.alias.update(alias_name=self.alias, new_target_collection=replacement)

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
        """The collection the alias points at now (writes go to it by this name)."""
        found = self.client.alias.get(alias_name=self.alias)
        if found is None:
            raise IndexStoreError(f"Alias {self.alias} is missing in Weaviate; restart the bot or run "
                                  "`supportbot index --full` to recreate it.")
        return found.collection

    # ----- replaced generations -------------------------------------------------------------

    def _tidy_up(self) -> None:
        """Start-up housekeeping; a failure here is logged, never a reason not to serve."""
        try:
            with self.translated("tidying up replaced collections"):
                self.generations.adopt_orphans(self.live_collection())
            self.sweep()
        except IndexStoreError as exc:
            log.warning("could not tidy up replaced collections", error=str(exc))

    def sweep(self) -> list[str]:
        """Drop collections and team tenants replaced longer than weaviate.drop_grace_s ago."""
        self._swept_at = time.monotonic()
        with self.translated("dropping replaced collections"):
            return self.generations.sweep(self._is_live, self._drop)

    def _is_live(self, record: Retired) -> bool:
        if record.tenant is None:
            return record.name == self.live_collection()
        return record.name == self.meta(record.tenant, fresh=True).shard

    def _drop(self, record: Retired) -> None:
        with self.translated(f"dropping {record.name}"):
            if record.tenant is None:
                self.client.collections.delete(record.name)
            else:
                shards.remove(self.client, self.live_collection(), record.name)

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
                if time.monotonic() - self._swept_at >= max(self.settings.drop_grace_s / 2, 1.0):
                    self.sweep()
            except IndexStoreError as exc:  # keep serving the last known generations
                log.warning("could not refresh index generations", error=str(exc))
            finally:
                self._refreshing.release()

        threading.Thread(target=run, name="weaviate-generations", daemon=True).start()

    def remember(self, tenant: str | None, meta: KnowledgeBaseMeta) -> None:
        with self._meta_lock:
            self._meta = {**self._meta, tenant: meta}

    def activate(self, tenant: str, shard: str) -> None:
        """Make a team's tenant answer again after Weaviate deactivated it."""
        with self.translated(f"activating tenant {shard}"):
            shards.ensure_active(self.client, self.live_collection(), shard, tenant)

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
