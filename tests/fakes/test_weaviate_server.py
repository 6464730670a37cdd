"""Self-tests: drive FakeWeaviate through the real weaviate-client and check it answers as Weaviate
does. The golden test computes its expected scores here, by hand, from the formulas in Weaviate's
sources (BlockMax BM25: adapters/repos/db/lsmkv/segment_blockmax.go Score and
adapters/repos/db/inverted/bm25_searcher_block.go wandBlock; relative score fusion:
usecases/traverser/hybrid/hybrid_fusion.go; tags v1.32.5 and v1.39.0)."""

from __future__ import annotations

import math
import re
import threading
from urllib.parse import urlparse

import pytest
import weaviate
from weaviate.classes.config import Configure, DataType, Property, Tokenization
from weaviate.classes.data import DataObject
from weaviate.classes.query import Filter, HybridFusion, MetadataQuery
from weaviate.classes.tenants import TenantActivityStatus
from weaviate.exceptions import WeaviateBaseError

from tests.fakes.weaviate_server import VERSION, FakeWeaviate

K1, B = 1.2, 0.75
DOCS = {  # uuid suffix: (title, text, vector)
    "a": ("Refund policy", "Refunds are paid within 14 days of a return.", [1.0, 0.0]),
    "b": ("Shipping", "Standard shipping is free; express shipping costs 9 dollars.", [0.0, 1.0]),
    "c": ("Returns", "Return unused items for a refund within 30 days; shipping back is free.", [0.6, 0.8]),
    "d": ("Warranty", "Tents carry a two year warranty.", [0.8, 0.6]),
}
QUERY = "a refund for shipping"  # "a" and "for" are stopwords: the query is refund + shipping


def uid(suffix: str) -> str:
    return f"00000000-0000-0000-0000-{suffix:0>12}"


def connect(fake: FakeWeaviate) -> weaviate.WeaviateClient:
    port = urlparse(fake.url).port
    return weaviate.connect_to_local(host="127.0.0.1", port=port, grpc_port=fake.grpc_port,
                                     skip_init_checks=True)


def create(client: weaviate.WeaviateClient, name: str, *, multi_tenancy: bool = False):
    return client.collections.create(
        name=name,
        properties=[Property(name=p, data_type=DataType.TEXT, tokenization=Tokenization.WORD)
                    for p in ("title", "text")],
        vector_config=Configure.Vectors.self_provided(),
        inverted_index_config=Configure.inverted_index(bm25_k1=K1, bm25_b=B),
        multi_tenancy_config=Configure.multi_tenancy(enabled=True) if multi_tenancy else None,
    )


def fill(collection, docs=DOCS) -> None:
    result = collection.data.insert_many([
        DataObject(uuid=uid(key), properties={"title": title, "text": text}, vector={"default": vector})
        for key, (title, text, vector) in docs.items()])
    assert not result.has_errors


@pytest.fixture(scope="module")
def fake():
    with FakeWeaviate() as server:
        yield server


@pytest.fixture
def client(fake):
    with connect(fake) as connected:
        yield connected


# ----- scores -----------------------------------------------------------------------------------

def blockmax(frequency: int, length: int, average: float) -> float:
    """One term in one property, without idf: f / (f + k1 * (1 - b + b * len / avg)); no (k1+1)."""
    return frequency / (frequency + K1 * (1 - B + B * length / average))


# Counted by hand from DOCS (word tokenization, stopwords kept in the lengths):
#   title lengths a=2 b=1 c=1 d=1 -> mean 1.25;  text lengths a=9 b=9 c=13 d=6 -> mean 9.25.
#   "refund":   title df 1 (a), text df 1 (c) -> n = (1 + 1) // 2 = 1
#   "shipping": title df 1 (b), text df 2 (b, c) -> n = (1 + 2) // 2 = 1   (BM25F would use 2)
IDF = math.log(1 + (4 - 1 + 0.5) / (1 + 0.5))  # N = 4, n = 1, each term once in the query
EXPECTED_BM25 = {
    "a": IDF * blockmax(1, 2, 1.25),                                # refund in the title
    "b": IDF * blockmax(1, 1, 1.25) + IDF * blockmax(2, 9, 9.25),   # shipping: title + twice in text
    "c": IDF * blockmax(1, 13, 9.25) + IDF * blockmax(1, 13, 9.25), # refund + shipping in the text
}


def test_golden_blockmax_bm25_scores(client):
    collection = create(client, "GoldenBm25")
    fill(collection)
    result = collection.query.bm25(QUERY, query_properties=["title", "text"],
                                   return_metadata=MetadataQuery(score=True))
    scores = {str(o.uuid)[-1]: o.metadata.score for o in result.objects}
    assert list(scores) == ["b", "c", "a"]  # d shares no query term
    for key, expected in EXPECTED_BM25.items():
        assert scores[key] == pytest.approx(expected, rel=1e-6)
    assert scores["b"] == pytest.approx(1.35427, abs=1e-5)  # the same, worked out on paper


def test_golden_relative_score_fusion(client):
    collection = create(client, "GoldenHybrid")
    fill(collection)
    result = collection.query.hybrid(
        QUERY, vector=[1.0, 0.0], target_vector="default", alpha=0.5, query_properties=["title", "text"],
        fusion_type=HybridFusion.RELATIVE_SCORE, return_metadata=MetadataQuery(score=True, explain_score=True))
    keyword = EXPECTED_BM25
    low, high = keyword["a"], keyword["b"]
    vector = {"a": 1.0, "b": 0.0, "c": 0.6, "d": 0.8}  # cosine with [1, 0]; min 0 and max 1
    expected = {  # each list scaled to 0..1, keyword weighted 1 - alpha, vector alpha
        "a": 0.5 * (keyword["a"] - low) / (high - low) + 0.5 * vector["a"],
        "b": 0.5 * (keyword["b"] - low) / (high - low) + 0.5 * vector["b"],
        "c": 0.5 * (keyword["c"] - low) / (high - low) + 0.5 * vector["c"],
        "d": 0.5 * vector["d"],
    }
    order = [str(o.uuid)[-1] for o in result.objects]
    # a and b tie at 0.5: the higher vector similarity (the secondary sort value) goes first.
    assert order == ["c", "a", "b", "d"]
    for obj in result.objects:
        assert obj.metadata.score == pytest.approx(expected[str(obj.uuid)[-1]], rel=1e-6)
    explained = {str(o.uuid)[-1]: o.metadata.explain_score for o in result.objects}
    found = re.search(r"Result Set keyword[^\n]*?original score ([\d.]+)", explained["b"])
    assert float(found[1]) == pytest.approx(keyword["b"], rel=1e-6)
    assert "Result Set keyword" not in explained["d"]


@pytest.mark.parametrize(("version", "first"), [("1.32.5", "f"), ("1.32.24", "e"), (VERSION, "e")])
def test_tied_scores_order_by_release(version, first):
    twins = {"f": ("Same", "identical text", [1.0, 0.0]), "e": ("Same", "identical text", [1.0, 0.0])}
    with FakeWeaviate(version=version) as server, connect(server) as client:
        collection = create(client, "Ties")
        fill(collection, twins)  # f is written first, so it has the lower internal document id
        result = collection.query.bm25("identical", return_metadata=MetadataQuery(score=True))
        assert str(result.objects[0].uuid)[-1] == first


# ----- aliases ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("version", "refused"), [("1.32.2", False), ("1.32.5", True), ("1.32.6", False),
                                                   (VERSION, False)])
def test_deleting_by_filter_through_an_alias_depends_on_the_release(version, refused):
    with FakeWeaviate(version=version) as server, connect(server) as client:
        assert client.get_meta()["version"] == version
        fill(create(client, "Docs_v1"))
        client.alias.create(alias_name="Docs", target_collection="Docs_v1")
        through_alias = client.collections.use("Docs").data
        if refused:
            with pytest.raises(WeaviateBaseError, match="could not find class Docs in schema"):
                through_alias.delete_many(where=Filter.by_property("title").equal("Shipping"))
        else:
            assert through_alias.delete_many(where=Filter.by_property("title").equal("Shipping")).matches == 1
        by_name = client.collections.use("Docs_v1").data  # the collection's own name always works
        assert by_name.delete_many(where=Filter.by_property("title").equal("Warranty")).matches == 1


def test_a_deleted_collection_leaves_its_alias_dangling(client):
    fill(create(client, "Gone_v1"))
    client.alias.create(alias_name="Gone", target_collection="Gone_v1")
    client.collections.delete("Gone_v1")
    assert client.alias.get(alias_name="Gone").collection == "Gone_v1"
    with pytest.raises(WeaviateBaseError, match="could not find class Gone_v1 in schema"):
        client.collections.use("Gone").query.bm25("refund")


def test_a_drop_does_not_wait_for_searches_already_running(fake, client):
    fill(create(client, "Busy_v1"))
    client.alias.create(alias_name="Busy", target_collection="Busy_v1")
    outcome = []

    def held_search() -> None:
        try:
            outcome.append(client.collections.use("Busy").query.bm25("refund").objects)
        except WeaviateBaseError as exc:
            outcome.append(exc)

    hold = fake.state.hold_next_search()
    searcher = threading.Thread(target=held_search)
    searcher.start()
    assert hold.resolved.wait(10)  # the search resolved the alias to Busy_v1 and waits
    client.collections.delete("Busy_v1")  # returns while the search is still held
    assert outcome == []
    hold.released.set()
    searcher.join()
    assert isinstance(outcome[0], WeaviateBaseError) and "non-existing index for Busy_v1" in str(outcome[0])


@pytest.mark.parametrize(("version", "allowed"), [("1.32.2", True), (VERSION, False)])
def test_tenant_operations_need_the_collections_own_name_from_1_32_3(version, allowed):
    with FakeWeaviate(version=version) as server, connect(server) as client:
        create(client, "Teams_v1", multi_tenancy=True)
        client.alias.create(alias_name="Teams", target_collection="Teams_v1")
        if allowed:
            client.collections.use("Teams").tenants.create(["T1"])
        else:
            with pytest.raises(WeaviateBaseError):
                client.collections.use("Teams").tenants.create(["T1"])
            client.collections.use("Teams_v1").tenants.create(["T1"])
        assert set(client.collections.use("Teams_v1").tenants.get()) == {"T1"}


# ----- tenants ----------------------------------------------------------------------------------

def test_tenant_activity_states(fake, client):
    collection = create(client, "Tenanted", multi_tenancy=True)
    collection.tenants.create(["T1"])
    fill(collection.with_tenant("T1"))
    collection.tenants.deactivate("T1")
    assert collection.tenants.get_by_name("T1").activity_status == TenantActivityStatus.INACTIVE
    assert collection.tenants.get()["T1"].activity_status == TenantActivityStatus.INACTIVE  # gRPC too
    with pytest.raises(WeaviateBaseError, match="tenant not active: 'T1'"):
        collection.with_tenant("T1").query.bm25("refund")
    with pytest.raises(WeaviateBaseError, match="tenant not active"):
        collection.with_tenant("T1").data.insert_many([DataObject(properties={"title": "x"})])
    collection.tenants.activate("T1")
    assert len(collection.with_tenant("T1").query.bm25("refund").objects) == 2
    with pytest.raises(WeaviateBaseError, match="offload-s3 module is not enabled"):
        collection.tenants.offload("T1")
    fake.state.set_tenant_status("Tenanted", "T1", "FROZEN")  # as Weaviate's own offloading does
    assert collection.tenants.get_by_name("T1").activity_status == TenantActivityStatus.OFFLOADED
