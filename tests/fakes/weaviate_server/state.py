"""The fake Weaviate's data: collections (schema, tenants, objects), aliases and test knobs.

Concurrency follows the real server (adapters/repos/db/repo.go and batch.go, v1.32.5 and v1.39.0):
schema changes and writes are applied one at a time under `lock`, but a search only holds it while
it resolves its collection and copies the object list. Dropping a collection does not wait for
searches that already resolved it: they fail, as they do on Weaviate when the index is shut down
under them. Aliases outlive the collection they point to (cluster/schema/schema.go deleteClass).
"""

from __future__ import annotations

import copy
import itertools
import re
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from tests.fakes.weaviate_server import quirks

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
NAME = re.compile(r"^[A-Z][_0-9A-Za-z]*$")
TENANT = re.compile(r"^[A-Za-z0-9\-_]{1,64}$")
DEFAULT_SHARD = ""  # the single shard of a collection without multi-tenancy
HOT = "HOT"
# Request names for the newer activity statuses -> what Weaviate stores and reports
# (usecases/schema/tenant.go convertNewTenantNames).
_STORED_STATUS = {"ACTIVE": "HOT", "INACTIVE": "COLD", "OFFLOADED": "FROZEN"}
SETTABLE_STATUSES = ("HOT", "COLD")  # FROZEN needs the offload-s3 module, which the fake lacks
STATUSES = ("HOT", "COLD", "FROZEN", "FREEZING", "UNFREEZING")


class WeaviateError(Exception):
    """A request Weaviate refuses; status is the HTTP code, the gRPC side maps it."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def capitalise(name: str) -> str:
    return name[:1].upper() + name[1:]


def words(text: str) -> list[str]:
    """Weaviate's `word` tokenization: runs of letters and digits, lower-cased."""
    return [w.lower() for w in _WORD.findall(text)]


@dataclass
class StoredObject:
    uuid: str
    properties: dict
    vector: np.ndarray | None
    created_ms: int
    updated_ms: int
    tokens: dict[str, list[str]] = field(default_factory=dict)  # searchable property -> words
    doc_id: int = 0  # Weaviate's internal document id: a new one on every write of the object


@dataclass
class Collection:
    name: str
    schema: dict
    shards: dict[str, dict[str, StoredObject]]
    dims: int | None = None  # fixed by the first vector, as Weaviate's vector index is
    statuses: dict[str, str] = field(default_factory=dict)  # tenant -> activity status
    dropped: bool = False  # set when the collection is deleted; searches still running see it

    @property
    def multi_tenancy(self) -> bool:
        return bool(self.schema.get("multiTenancyConfig", {}).get("enabled"))

    def property(self, name: str) -> dict | None:
        return next((p for p in self.schema.get("properties", []) if p["name"] == name), None)

    def searchable(self) -> list[str]:
        return [p["name"] for p in self.schema["properties"]
                if p["dataType"][0] in ("text", "text[]") and p.get("indexSearchable", True)]

    def vector_names(self) -> list[str]:
        return list(self.schema.get("vectorConfig", {}))

    def shard(self, tenant: str) -> dict[str, StoredObject]:
        """The objects one request may use; messages as adapters/repos/db/index.go words them."""
        if self.multi_tenancy:
            if not tenant:
                raise WeaviateError(422, f"class {self.name} has multi-tenancy enabled, but request "
                                         "was without tenant")
            if tenant not in self.shards:
                raise WeaviateError(422, f"tenant not found: \"{tenant}\"")
            if self.statuses.get(tenant, HOT) != HOT:
                raise WeaviateError(422, f"tenant not active: '{tenant}'")
            return self.shards[tenant]
        if tenant:
            raise WeaviateError(422, f"class {self.name} has multi-tenancy disabled, but request was "
                                     f"with tenant \"{tenant}\"")
        return self.shards[DEFAULT_SHARD]


@dataclass
class SearchHold:
    resolved: threading.Event = field(default_factory=threading.Event)  # the search resolved its collection
    released: threading.Event = field(default_factory=threading.Event)  # set by the test: carry on


class FakeState:
    def __init__(self, api_key: str | None = None, version: str = "1.39.0") -> None:
        self.lock = threading.RLock()
        self.version_text = version
        self.version = quirks.parse(version)
        self.collections: dict[str, Collection] = {}
        self.aliases: dict[str, str] = {}
        self.api_key = api_key
        self._doc_ids = itertools.count(1)
        self.rejections: list[str] = []  # knob: the next objects written get these errors
        self.requests: list[str] = []  # what was called, for tests that check the wire traffic
        self.searches: list = []  # the SearchRequest messages received
        self.writes: list[tuple[str, str]] = []  # (call, collection name as sent) of every write
        self.unavailable = False  # knob: gRPC answers UNAVAILABLE, as a server going down does
        self.search_holds: list[SearchHold] = []  # knob: the next ranked searches wait for these
        # knob: how long a ranked search (hybrid, BM25, near-vector) takes between resolving its
        # collection and reading it, as one over a production-sized index does; 0 leaves only the
        # fake's own compute time. Plain fetches by filter stay fast.
        self.search_latency_s = 0.0

    # ----- knobs ------------------------------------------------------------------------------

    def reject_next_objects(self, count: int = 1, message: str = "fake: object rejected") -> None:
        with self.lock:
            self.rejections.extend([message] * count)

    def take_rejection(self) -> str | None:
        with self.lock:
            return self.rejections.pop(0) if self.rejections else None

    def hold_next_search(self) -> SearchHold:
        """The next ranked search resolves its collection, then waits until the hold is released."""
        hold = SearchHold()
        with self.lock:
            self.search_holds.append(hold)
        return hold

    def wait_before_reading(self) -> None:
        """What a ranked search does between resolving its collection and reading it."""
        with self.lock:
            hold = self.search_holds.pop(0) if self.search_holds else None
        if hold is None:
            time.sleep(self.search_latency_s)
            return
        hold.resolved.set()
        hold.released.wait(timeout=30)  # a forgotten release must not hang the test run

    def set_tenant_status(self, collection: str, tenant: str, status: str) -> None:
        """What an operator or Weaviate's own offloading does: any status, modules or not."""
        with self.lock:
            found = self.concrete(collection)
            if tenant not in found.shards:
                raise WeaviateError(422, f"tenant not found: \"{tenant}\"")
            found.statuses[tenant] = _STORED_STATUS.get(status, status)

    # ----- names ------------------------------------------------------------------------------

    def resolve(self, name: str) -> Collection:
        """A collection by its name or an alias: the gRPC data handlers resolve aliases."""
        name = capitalise(name)
        target = self.aliases.get(name, name)
        if target not in self.collections:
            raise WeaviateError(422, f"could not find class {target} in schema")
        return self.collections[target]

    def resolve_for_batch_delete(self, name: str) -> Collection:
        name = capitalise(name)
        if name in self.aliases and not quirks.batch_delete_resolves_aliases(self.version):
            raise WeaviateError(422, f"batch delete params: could not find class {name} in schema")
        return self.resolve(name)

    def concrete(self, name: str) -> Collection:
        """A collection by its own name (schema and tenant operations)."""
        name = capitalise(name)
        if quirks.schema_operations_resolve_aliases(self.version):
            name = self.aliases.get(name, name)
        if name not in self.collections:
            raise WeaviateError(404, f"class {name} not found")
        return self.collections[name]

    def snapshot(self, name: str, tenant: str) -> tuple[Collection, list[StoredObject]]:
        """What a search reads: its collection and the objects there at this moment."""
        with self.lock:
            collection = self.resolve(name)
            return collection, list(collection.shard(tenant).values())

    # ----- schema -----------------------------------------------------------------------------

    def create_collection(self, body: dict) -> dict:
        name = capitalise(body.get("class", ""))
        if not NAME.match(name):
            raise WeaviateError(422, f"'{name}' is not a valid class name")
        if name in self.collections or name in self.aliases:
            raise WeaviateError(422, f"class name {name} already exists")
        schema = with_defaults({**copy.deepcopy(body), "class": name})
        collection = Collection(name=name, schema=schema, shards={})
        if not collection.multi_tenancy:
            collection.shards[DEFAULT_SHARD] = {}
        self.collections[name] = collection
        return schema

    def delete_collection(self, name: str) -> None:
        """Drop a collection (a missing one is not an error); its aliases stay, now dangling."""
        name = capitalise(name)
        if quirks.schema_operations_resolve_aliases(self.version):
            name = self.aliases.get(name, name)
        dropped = self.collections.pop(name, None)
        if dropped is not None:
            dropped.dropped = True

    def tenants(self, name: str) -> list[dict]:
        collection = self.concrete(name)
        return [{"name": t, "activityStatus": collection.statuses.get(t, HOT)}
                for t in sorted(collection.shards)]

    def add_tenants(self, name: str, tenants: list[dict]) -> list[dict]:
        collection = self._tenant_collection(name)
        for tenant in tenants:
            if not TENANT.match(tenant.get("name", "")):
                raise WeaviateError(422, f"tenant name {tenant.get('name')!r} is invalid")
            self._settable(tenant, allow_empty=True)
        for tenant in tenants:
            collection.shards.setdefault(tenant["name"], {})
            collection.statuses[tenant["name"]] = self._settable(tenant, allow_empty=True) or HOT
        return [{"name": t["name"], "activityStatus": collection.statuses[t["name"]]} for t in tenants]

    def update_tenants(self, name: str, tenants: list[dict]) -> list[dict]:
        collection = self._tenant_collection(name)
        for tenant in tenants:
            self._settable(tenant, allow_empty=False)
            if tenant.get("name") not in collection.shards:
                raise WeaviateError(422, f"tenant not found: \"{tenant.get('name')}\"")
        for tenant in tenants:
            collection.statuses[tenant["name"]] = self._settable(tenant, allow_empty=False)
        return [{"name": t["name"], "activityStatus": collection.statuses[t["name"]]} for t in tenants]

    def remove_tenants(self, name: str, names: list[str]) -> None:
        collection = self._tenant_collection(name)
        for tenant in names:
            collection.shards.pop(tenant, None)
            collection.statuses.pop(tenant, None)

    def _tenant_collection(self, name: str) -> Collection:
        collection = self.concrete(name)
        if not collection.multi_tenancy:
            raise WeaviateError(422, f"multi-tenancy is not enabled for class \"{collection.name}\"")
        return collection

    @staticmethod
    def _settable(tenant: dict, *, allow_empty: bool) -> str:
        """usecases/schema/tenant.go validateActivityStatuses, for a server without offload-s3."""
        status = _STORED_STATUS.get(tenant.get("activityStatus") or "", tenant.get("activityStatus") or "")
        if status in SETTABLE_STATUSES or (allow_empty and not status):
            return status
        if status == "FROZEN":
            raise WeaviateError(422, "can't offload tenants, because offload-s3 module is not enabled")
        raise WeaviateError(422, f"invalid activity status '{status}' for tenant \"{tenant.get('name')}\"")

    # ----- aliases ----------------------------------------------------------------------------

    def create_alias(self, alias: str, target: str) -> None:
        alias, target = capitalise(alias), capitalise(target)
        if alias in self.aliases:
            raise WeaviateError(422, f"create alias: {alias}, alias already exists")
        if alias in self.collections:
            raise WeaviateError(422, f"create alias: class {alias} already exists")
        if target not in self.collections:
            raise WeaviateError(422, f"create alias: {alias}, class not found, {target}")
        self.aliases[alias] = target

    def update_alias(self, alias: str, target: str) -> bool:
        alias, target = capitalise(alias), capitalise(target)
        if alias not in self.aliases:
            return False
        if target not in self.collections:
            raise WeaviateError(422, f"replace alias: class {target} does not exist")
        self.aliases[alias] = target
        return True

    # ----- objects ----------------------------------------------------------------------------

    def put_object(self, collection: Collection, tenant: str, obj_uuid: str, properties: dict,
                   vector: np.ndarray | None) -> None:
        shard = collection.shard(tenant)
        for prop in properties:
            if collection.property(prop) is None:
                raise WeaviateError(422, f"no such prop with name '{prop}' found in class "
                                         f"'{collection.name}' in the schema")
        if vector is not None:
            if collection.dims is not None and len(vector) != collection.dims:
                raise WeaviateError(422, f"new node has a vector with length {len(vector)}. "
                                         f"Existing nodes have vectors with length {collection.dims}")
            collection.dims = len(vector)
        now = int(time.time() * 1000)
        previous = shard.get(obj_uuid)
        tokens = {name: words(" ".join(_as_list(properties.get(name))))
                  for name in collection.searchable()}
        shard[obj_uuid] = StoredObject(obj_uuid, properties, vector,
                                       previous.created_ms if previous else now, now, tokens,
                                       next(self._doc_ids))


def _as_list(value) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def with_defaults(schema: dict) -> dict:
    """Fill in what Weaviate 1.32+ reports for settings a create request left out."""
    inverted = schema.setdefault("invertedIndexConfig", {})
    inverted.setdefault("bm25", {"b": 0.75, "k1": 1.2})
    inverted.setdefault("cleanupIntervalSeconds", 60)
    stopwords = inverted.setdefault("stopwords", {})
    stopwords.setdefault("preset", "en")
    stopwords.setdefault("additions", None)
    stopwords.setdefault("removals", None)
    tenancy = schema.setdefault("multiTenancyConfig", {})
    tenancy.setdefault("enabled", False)
    tenancy.setdefault("autoTenantCreation", False)
    tenancy.setdefault("autoTenantActivation", False)
    schema.setdefault("replicationConfig", {"factor": 1, "asyncEnabled": False,
                                            "deletionStrategy": "NoAutomatedResolution"})
    schema.setdefault("shardingConfig", {
        "virtualPerPhysical": 128, "desiredCount": 1, "actualCount": 1, "desiredVirtualCount": 128,
        "actualVirtualCount": 128, "key": "_id", "strategy": "hash", "function": "murmur3"})
    for vector in schema.get("vectorConfig", {}).values():
        vector.setdefault("vectorIndexType", "hnsw")
        index = vector.setdefault("vectorIndexConfig", {})
        for key, value in (("distance", "cosine"), ("cleanupIntervalSeconds", 300), ("ef", -1),
                           ("dynamicEfMin", 100), ("dynamicEfMax", 500), ("dynamicEfFactor", 8),
                           ("efConstruction", 128), ("flatSearchCutoff", 40000),
                           ("maxConnections", 32), ("skip", False),
                           ("vectorCacheMaxObjects", 1_000_000_000_000)):
            index.setdefault(key, value)
    for prop in schema.setdefault("properties", []):
        prop.setdefault("indexFilterable", True)
        prop.setdefault("indexRangeFilters", False)
        textual = prop["dataType"][0] in ("text", "text[]")
        prop.setdefault("indexSearchable", textual)
        if textual:
            prop.setdefault("tokenization", "word")
    return schema
