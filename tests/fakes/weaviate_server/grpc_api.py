"""The fake Weaviate's gRPC side, on the protobuf stubs shipped inside weaviate-client.

Implements what weaviate-client 4.23 sends for this project's use: Search (fetch with cursor and
filters, BM25, near-vector, hybrid), BatchObjects, BatchDelete, Aggregate (object counts),
TenantsGet and the health check. Anything else answers UNIMPLEMENTED.

Errors carry the codes Weaviate's handlers produce (adapters/handlers/grpc/server.go and
v1/service.go): authentication failures are UNAUTHENTICATED, every other refusal is a plain
error, which gRPC reports as UNKNOWN with the message.
"""

from __future__ import annotations

import struct
import time
import uuid as uuid_lib

import grpc
import numpy as np
from google.protobuf.json_format import MessageToDict

from tests.fakes.weaviate_server import engine
from tests.fakes.weaviate_server.state import HOT, Collection, FakeState, StoredObject, WeaviateError
from weaviate.proto.v1 import (
    aggregate_pb2,
    base_pb2,
    batch_delete_pb2,
    batch_pb2,
    health_weaviate_pb2,
    properties_pb2,
    search_get_pb2,
    tenants_pb2,
    weaviate_pb2_grpc,
)

DEFAULT_LIMIT = 10  # QUERY_DEFAULTS_LIMIT
MAXIMUM_RESULTS = 10_000  # QUERY_MAXIMUM_RESULTS
_CODES = {401: grpc.StatusCode.UNAUTHENTICATED}


class FakeWeaviateServicer(weaviate_pb2_grpc.WeaviateServicer):
    def __init__(self, state: FakeState) -> None:
        self.state = state

    def _guard(self, context, call: str) -> None:
        self.state.requests.append(f"grpc {call}")
        if self.state.unavailable:
            context.abort(grpc.StatusCode.UNAVAILABLE, "fake: connection refused")
        key = self.state.api_key
        if key and dict(context.invocation_metadata()).get("authorization") != f"Bearer {key}":
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "anonymous access not enabled")

    def _run(self, context, call: str, work, *, exclusive: bool = True):
        """Writes run one at a time under the state lock; searches take it only to resolve."""
        self._guard(context, call)
        try:
            if not exclusive:
                return work()
            with self.state.lock:
                return work()
        except WeaviateError as exc:
            context.abort(_CODES.get(exc.status, grpc.StatusCode.UNKNOWN), str(exc))

    # ----- search -----------------------------------------------------------------------------

    def Search(self, request, context):
        return self._run(context, "Search", lambda: self._search(request), exclusive=False)

    def _search(self, request: search_get_pb2.SearchRequest) -> search_get_pb2.SearchReply:
        started = time.perf_counter()
        self.state.searches.append(request)
        collection, shard = self.state.snapshot(request.collection, request.tenant)
        if any(request.HasField(kind) for kind in ("hybrid_search", "bm25_search", "near_vector")):
            self.state.wait_before_reading()
        if self.state.collections.get(collection.name) is not collection:  # adapters/repos/db/search.go
            raise WeaviateError(500, f"tried to browse non-existing index for {collection.name}")
        allowed = _filtered(shard, request, collection)
        limit = request.limit or DEFAULT_LIMIT
        version = self.state.version
        if request.HasField("hybrid_search"):
            hits = engine.hybrid(collection, shard, allowed, request.hybrid_search,
                                 request.offset + limit, version)
        elif request.HasField("bm25_search"):
            hits = engine.bm25(collection, shard, allowed, request.bm25_search.query,
                               list(request.bm25_search.properties), request.offset + limit, version)
        elif request.HasField("near_vector"):
            vector = engine.query_vector(request.near_vector)
            if vector is None:
                raise WeaviateError(422, "nearVector: no vector given")
            hits = engine.near_vector(allowed, vector)
        else:
            ordered = sorted(allowed, key=lambda o: o.uuid)
            if request.after:
                ordered = [o for o in ordered if o.uuid > request.after]
            hits = [(o, 0.0, "") for o in ordered]
        hits = hits[request.offset : request.offset + min(limit, MAXIMUM_RESULTS)]
        if collection.dropped:  # dropped while this search read it: its shard was shut down
            raise WeaviateError(500, f"search index {collection.name.lower()}: already shut or dropped")
        distances = request.HasField("near_vector")
        return search_get_pb2.SearchReply(
            took=time.perf_counter() - started,
            results=[_result(collection, hit, request, distances) for hit in hits],
        )

    # ----- writing ----------------------------------------------------------------------------

    def BatchObjects(self, request, context):
        return self._run(context, "BatchObjects", lambda: self._batch(request))

    def _batch(self, request: batch_pb2.BatchObjectsRequest) -> batch_pb2.BatchObjectsReply:
        started = time.perf_counter()
        errors = []
        for index, obj in enumerate(request.objects):
            try:
                if rejection := self.state.take_rejection():
                    raise WeaviateError(422, rejection)
                self.state.writes.append(("BatchObjects", obj.collection))
                collection = self.state.resolve(obj.collection)
                self.state.put_object(collection, obj.tenant, str(uuid_lib.UUID(obj.uuid)),
                                      _decode_properties(obj.properties, collection), _vector_of(obj, collection))
            except WeaviateError as exc:
                errors.append(batch_pb2.BatchObjectsReply.BatchError(index=index, error=str(exc)))
        return batch_pb2.BatchObjectsReply(took=time.perf_counter() - started, errors=errors)

    def BatchDelete(self, request, context):
        return self._run(context, "BatchDelete", lambda: self._delete(request))

    def _delete(self, request: batch_delete_pb2.BatchDeleteRequest) -> batch_delete_pb2.BatchDeleteReply:
        started = time.perf_counter()
        self.state.writes.append(("BatchDelete", request.collection))
        if not request.HasField("filters"):
            raise WeaviateError(422, "batch delete needs a filter")
        collection = self.state.resolve_for_batch_delete(request.collection)
        shard = collection.shard(request.tenant)
        doomed = [o for o in sorted(shard.values(), key=lambda o: o.uuid)
                  if engine.matches(request.filters, o, collection)][:MAXIMUM_RESULTS]
        if not request.dry_run:
            for obj in doomed:
                del shard[obj.uuid]
        return batch_delete_pb2.BatchDeleteReply(
            took=time.perf_counter() - started, matches=len(doomed), successful=len(doomed), failed=0,
            objects=[batch_delete_pb2.BatchDeleteObject(uuid=uuid_lib.UUID(o.uuid).bytes, successful=True)
                     for o in doomed] if request.verbose else [],
        )

    # ----- counting and tenants ---------------------------------------------------------------

    def Aggregate(self, request, context):
        return self._run(context, "Aggregate", lambda: self._aggregate(request))

    def _aggregate(self, request: aggregate_pb2.AggregateRequest) -> aggregate_pb2.AggregateReply:
        if request.aggregations or request.HasField("group_by"):
            raise WeaviateError(422, "fake Weaviate only counts objects")
        collection = self.state.resolve(request.collection)
        shard = list(collection.shard(request.tenant).values())
        count = len(_filtered(shard, request, collection))
        return aggregate_pb2.AggregateReply(
            single_result=aggregate_pb2.AggregateReply.Single(objects_count=count))

    def TenantsGet(self, request, context):
        return self._run(context, "TenantsGet", lambda: self._tenants(request))

    def _tenants(self, request: tenants_pb2.TenantsGetRequest) -> tenants_pb2.TenantsGetReply:
        collection = self.state.resolve(request.collection)
        names = set(request.names.values) if request.HasField("names") else None
        return tenants_pb2.TenantsGetReply(tenants=[
            tenants_pb2.Tenant(name=name, activity_status=tenants_pb2.TenantActivityStatus.Value(
                f"TENANT_ACTIVITY_STATUS_{collection.statuses.get(name, HOT)}"))
            for name in sorted(collection.shards) if names is None or name in names])


def health_handler() -> grpc.GenericRpcHandler:
    def check(request, context):
        return health_weaviate_pb2.WeaviateHealthCheckResponse(
            status=health_weaviate_pb2.WeaviateHealthCheckResponse.SERVING)

    return grpc.method_handlers_generic_handler("grpc.health.v1.Health", {
        "Check": grpc.unary_unary_rpc_method_handler(
            check, request_deserializer=health_weaviate_pb2.WeaviateHealthCheckRequest.FromString,
            response_serializer=health_weaviate_pb2.WeaviateHealthCheckResponse.SerializeToString),
    })


# ----- encoding ---------------------------------------------------------------------------------

def _filtered(objects: list[StoredObject], request, collection: Collection) -> list[StoredObject]:
    if not request.HasField("filters"):
        return objects
    return [o for o in objects if engine.matches(request.filters, o, collection)]


def _vector_of(obj: batch_pb2.BatchObject, collection: Collection) -> np.ndarray | None:
    names = collection.vector_names()
    if obj.vector_bytes:
        return engine._floats(obj.vector_bytes)
    for vectors in obj.vectors:
        if vectors.name not in names:
            raise WeaviateError(422, f"collection {collection.name} has no vector named {vectors.name!r}")
        return engine._floats(vectors.vector_bytes)
    return None


def _decode_properties(props: batch_pb2.BatchObject.Properties, collection: Collection) -> dict:
    values = MessageToDict(props.non_ref_properties) if props.HasField("non_ref_properties") else {}
    for name, value in list(values.items()):
        spec = collection.property(name)
        kind = spec["dataType"][0] if spec else ""
        if kind == "int":
            if value != int(value):
                raise WeaviateError(422, f"invalid integer property '{name}' on class '{collection.name}'")
            values[name] = int(value)
        elif kind == "text" and not isinstance(value, str):
            raise WeaviateError(422, f"invalid text property '{name}' on class '{collection.name}': "
                                     f"not a string, but {type(value).__name__}")
    for arrays in (props.text_array_properties, props.int_array_properties,
                   props.boolean_array_properties):
        for array in arrays:
            values[array.prop_name] = list(array.values)
    for array in props.number_array_properties:
        values[array.prop_name] = (list(struct.unpack(f"<{len(array.values_bytes) // 8}d", array.values_bytes))
                                   if array.values_bytes else list(array.values))
    for name in props.empty_list_props:
        values[name] = []
    return values


def _result(collection: Collection, hit: engine.Hit, request: search_get_pb2.SearchRequest,
            distances: bool) -> search_get_pb2.SearchResult:
    obj, score, explain = hit
    wanted = request.metadata
    metadata = search_get_pb2.MetadataResult(id=obj.uuid, id_as_bytes=uuid_lib.UUID(obj.uuid).bytes)
    if wanted.score and not distances:
        metadata.score, metadata.score_present = score, True
    if wanted.explain_score and explain:
        metadata.explain_score, metadata.explain_score_present = explain, True
    if distances and wanted.distance:
        metadata.distance, metadata.distance_present = score, True
    if distances and wanted.certainty:
        metadata.certainty, metadata.certainty_present = 1 - score / 2, True
    if wanted.creation_time_unix:
        metadata.creation_time_unix, metadata.creation_time_unix_present = obj.created_ms, True
    if wanted.last_update_time_unix:
        metadata.last_update_time_unix, metadata.last_update_time_unix_present = obj.updated_ms, True
    if (wanted.vector or wanted.vectors) and obj.vector is not None:
        name = (collection.vector_names() or ["default"])[0]
        metadata.vectors.append(base_pb2.Vectors(
            name=name, vector_bytes=obj.vector.astype("<f4").tobytes(),
            type=base_pb2.Vectors.VectorType.VECTOR_TYPE_SINGLE_FP32))
    names = (list(request.properties.non_ref_properties)
             if not request.properties.return_all_nonref_properties else list(obj.properties))
    return search_get_pb2.SearchResult(
        metadata=metadata,
        properties=search_get_pb2.PropertiesResult(
            target_collection=collection.name,
            non_ref_props=properties_pb2.Properties(fields={
                name: _value(collection, name, obj.properties[name])
                for name in names if name in obj.properties}),
        ),
    )


def _value(collection: Collection, name: str, value) -> properties_pb2.Value:
    kind = collection.property(name)["dataType"][0]
    if value is None:
        return properties_pb2.Value(null_value=0)
    if kind == "text":
        return properties_pb2.Value(text_value=value)
    if kind == "int":
        return properties_pb2.Value(int_value=int(value))
    if kind == "number":
        return properties_pb2.Value(number_value=float(value))
    if kind == "boolean":
        return properties_pb2.Value(bool_value=bool(value))
    if kind == "text[]":
        return properties_pb2.Value(list_value=properties_pb2.ListValue(
            text_values=properties_pb2.TextValues(values=value)))
    if kind == "int[]":
        return properties_pb2.Value(list_value=properties_pb2.ListValue(
            int_values=properties_pb2.IntValues(values=struct.pack(f"<{len(value)}q", *value))))
    raise WeaviateError(422, f"fake Weaviate cannot return {kind} property {name}")
