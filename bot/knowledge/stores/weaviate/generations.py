"""The collections behind one alias over time: retiring replaced ones, dropping them after a grace
period, and finding what a dangling alias should point at.

A full rebuild fills <alias>_v<n>, switches the alias to it and retires the collection it replaced.
Weaviate does not make a drop wait for searches that already resolved the alias to the old
collection (searches take no drop lock: adapters/repos/db/repo.go DeleteIndex, v1.32.5 and
v1.39.0; such a search fails), so a replaced collection (with multi-tenancy: a team's replaced
tenant) is first recorded as retired in the metadata collection and dropped weaviate.drop_grace_s
later by whichever process sweeps first: the next index run, or a running bot, which sweeps along
with its generation refresh. The record makes the grace period survive the process that started it.

Deleting a collection leaves the aliases that point at it (cluster/schema/schema.go deleteClass, same
tags), and every search through such a dangling alias fails. The newest collection that was live
once and is still there is the one to point it back at.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import structlog
import weaviate
from weaviate.classes.data import DataObject
from weaviate.classes.query import Filter

from bot.knowledge.stores.protocol import IndexStoreError
from bot.knowledge.stores.weaviate.schema import (
    META_PROPERTIES,
    meta_collection_name,
    meta_object_id,
    retired_key,
    version_of,
)

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Retired:
    name: str  # a collection, or (with tenant set) a tenant of the live collection
    tenant: str | None
    generation: int
    retired_at: dt.datetime
    object_id: str


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Generations:
    def __init__(self, client: weaviate.WeaviateClient, alias: str, grace_s: float) -> None:
        self.client = client
        self.alias = alias
        self.grace = dt.timedelta(seconds=grace_s)

    def _meta(self):
        return self.client.collections.use(meta_collection_name(self.alias))

    def collections(self) -> dict[int, str]:
        """The versioned collections of this alias that exist, by number."""
        found = {}
        for name in self.client.collections.list_all(simple=True):
            number = version_of(self.alias, name)
            if number is not None:
                found[number] = name
        return found

    # ----- retiring and sweeping -----------------------------------------------------------

    def retire(self, name: str, *, tenant: str | None, generation: int) -> None:
        """Record that `name` stopped being live now; it is dropped once the grace period is over."""
        props = {"alias": retired_key(self.alias), "tenant": tenant or "", "generation": generation,
                 "embedding_model": "", "shard": name,
                 "updated_at": now().isoformat(timespec="milliseconds")}
        result = self._meta().data.insert_many([DataObject(
            uuid=meta_object_id(retired_key(self.alias), name), properties=props)])
        if result.has_errors:
            raise IndexStoreError(f"Could not record {name} as replaced "
                                  f"({next(iter(result.errors.values())).message}).")

    def retired(self) -> list[Retired]:
        result = self._meta().query.fetch_objects(
            filters=Filter.by_property("alias").equal(retired_key(self.alias)), limit=10_000,
            return_properties=META_PROPERTIES)
        return [Retired(name=o.properties["shard"], tenant=o.properties.get("tenant") or None,
                        generation=int(o.properties.get("generation") or 0),
                        retired_at=dt.datetime.fromisoformat(o.properties["updated_at"]),
                        object_id=str(o.uuid))
                for o in result.objects]

    def sweep(self, is_live: Callable[[Retired], bool], drop: Callable[[Retired], None]) -> list[str]:
        """Drop what was retired longer than the grace period ago; the names dropped."""
        due = [r for r in self.retired() if now() - r.retired_at >= self.grace]
        done, dropped = [], []
        for record in due:
            if is_live(record):  # a repaired alias points at it again: keep it, forget the record
                done.append(record)
                continue
            try:
                drop(record)
            except IndexStoreError as exc:  # kept on record: the next sweep tries again
                log.warning("could not drop a replaced collection; will retry", name=record.name,
                            error=str(exc))
                continue
            done.append(record)
            dropped.append(record.name)
        if done:
            self._meta().data.delete_many(where=Filter.by_id().contains_any([r.object_id for r in done]))
        if dropped:
            log.info("dropped replaced generations", names=dropped)
        return dropped

    def adopt_orphans(self, live: str) -> None:
        """Retire older versioned collections nobody recorded (a crash between switch and record)."""
        live_number = version_of(self.alias, live)
        if live_number is None:
            return
        recorded = {r.name for r in self.retired()}
        for number, name in sorted(self.collections().items()):
            if number < live_number and name not in recorded:
                self.retire(name, tenant=None, generation=number)

    # ----- repair ---------------------------------------------------------------------------

    def newest_complete(self, missing: str) -> str | None:
        """The collection a dangling alias should point at: the newest that was live once."""
        existing = self.collections()
        was_live = {r.name for r in self.retired() if r.tenant is None}
        candidates = [n for n, name in existing.items() if name in was_live]
        if not candidates:  # nothing recorded: older generations than the missing one will do
            below = version_of(self.alias, missing)
            candidates = [n for n in existing if below is not None and n < below]
        return existing[max(candidates)] if candidates else None

    def unused_name(self) -> str:
        """A versioned name no collection has yet, above every existing one."""
        existing = self.collections()
        return f"{self.alias}_v{max(existing, default=-1) + 1}"
