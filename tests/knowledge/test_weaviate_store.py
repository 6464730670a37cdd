"""WeaviateIndex beyond the shared contract: alias switching, batch failures, fast failure, auth,
multi-tenancy and wiring, all through the real weaviate-client against the wire-protocol fake."""

from __future__ import annotations

import socket
from dataclasses import replace

import pytest

from bot.knowledge.indexer import ReindexError, reindex
from bot.knowledge.stores.protocol import IndexStoreError
from bot.knowledge.stores.weaviate.index import WeaviateIndex
from bot.knowledge.stores.weaviate.store import WeaviateStore
from bot.knowledge.stores.weaviate.tenancy import TenantRoutedIndex, tenant_scope
from bot.settings import WeaviateSettings, load_settings
from bot.types import Audience, Inquiry
from bot.wiring import build_bot, build_index
from tests.conftest import make_settings
from tests.fakes.weaviate_server import FakeWeaviate
from tests.helpers import inquiry
from tests.knowledge.conftest import fake_settings
from tests.knowledge.test_index_contract import all_chunks, chunks_of, search, write


@pytest.fixture
def store(fake_weaviate):
    store = WeaviateStore(fake_settings(fake_weaviate))
    yield store
    store.close()


def test_a_rejected_batch_object_fails_the_full_reindex_and_keeps_the_alias(
        fake_weaviate, store, small_kb, tmp_path, embeddings):
    settings = make_settings(tmp_path, small_kb)
    index = store.index_for(None)
    first = reindex(settings, index, embeddings)
    live = fake_weaviate.state.aliases[store.alias]
    fake_weaviate.state.reject_next_objects(1, "fake: disk full")

    with pytest.raises(ReindexError, match="rejected 1 of .* disk full"):
        reindex(settings, index, embeddings, full=True)

    assert fake_weaviate.state.aliases[store.alias] == live  # still the old collection
    assert [c for c in fake_weaviate.state.collections if c.startswith(f"{store.alias}_v")] == [live]
    assert index.generation() == first.generation and index.count() == first.chunks_total
    assert search(index, embeddings, "return unused items")[0].chunk.document_id == "returns"
    fixed = reindex(settings, index, embeddings, full=True)  # and the next run goes through
    assert fixed.generation == first.generation + 1
    assert fake_weaviate.state.aliases[store.alias] != live
    # The replaced collection waits out weaviate.drop_grace_s for searches already under way.
    assert live in fake_weaviate.state.collections
    assert [r.name for r in store.generations.retired()] == [live]


def test_an_interrupted_incremental_write_is_redone_next_time(fake_weaviate, store, embeddings):
    index = store.index_for(None)
    write(index, embeddings, all_chunks())
    fake_weaviate.state.reject_next_objects(1)
    longer = chunks_of("returns", ["Returns: 45 days.", "Opened: 20 days.", "Sale items: final."], "returns-v2")
    with pytest.raises(IndexStoreError, match="rejected 1 of 3"):
        write(index, embeddings, longer, delete=["returns"])
    assert index.generation() == 1
    assert index.document_hashes()["returns"] == ""  # incomplete: the indexer sees it as changed
    write(index, embeddings, longer, delete=["returns"])
    assert index.document_hashes()["returns"] == "returns-v2" and index.count() == 6


def test_the_audience_filter_is_part_of_the_weaviate_query(fake_weaviate, store, embeddings):
    index = store.index_for(None)
    write(index, embeddings, all_chunks())
    search(index, embeddings, "refund limits")
    request = fake_weaviate.state.searches[-1]
    assert request.HasField("hybrid_search") and request.filters.target.property == "audience"
    assert request.filters.value_text == "public"
    search(index, embeddings, "refund limits", Audience.STAFF)
    assert not fake_weaviate.state.searches[-1].HasField("filters")


def test_an_unavailable_server_fails_at_once_instead_of_retrying_for_a_minute(fake_weaviate, store, embeddings):
    index = store.index_for(None)
    fake_weaviate.state.unavailable = True
    before = fake_weaviate.state.requests.count("grpc Search")
    try:
        with pytest.raises(IndexStoreError, match="Check that Weaviate is running"):
            search(index, embeddings, "anything")
    finally:
        fake_weaviate.state.unavailable = False
    # One quick retry; the client's own back-off (1+2+4+8+16+32 s) would make six calls.
    assert fake_weaviate.state.requests.count("grpc Search") - before == 2
    assert search(index, embeddings, "anything") == []  # and it recovers


def test_a_dead_server_is_reported_with_what_to_check():
    with socket.socket() as http, socket.socket() as grpc:  # two ports nothing listens on
        http.bind(("127.0.0.1", 0))
        grpc.bind(("127.0.0.1", 0))
        ports = http.getsockname()[1], grpc.getsockname()[1]
    with pytest.raises(IndexStoreError, match=rf"127.0.0.1:{ports[0]}.*Check that Weaviate is running"):
        WeaviateStore(WeaviateSettings(url=f"http://127.0.0.1:{ports[0]}", grpc_port=ports[1]))
    with pytest.raises(IndexStoreError, match="grpc_port"):  # same host and port for both protocols
        WeaviateStore(WeaviateSettings(url=f"http://127.0.0.1:{ports[0]}", grpc_port=ports[0]))


def test_api_key_authentication():
    with FakeWeaviate(api_key="s3cret") as fake:
        with pytest.raises(IndexStoreError, match="WEAVIATE_API_KEY"):
            WeaviateStore(fake_settings(fake))
        store = WeaviateStore(fake_settings(fake, api_key="s3cret"))
        try:
            assert store.index_for(None).count() == 0
        finally:
            store.close()


@pytest.mark.parametrize(("version", "refusal"), [
    ("1.31.9", "no collection aliases"), ("1.32.3", "fixed in Weaviate 1.32.6"),
    ("1.32.5", "fixed in Weaviate 1.32.6"), ("1.32.6", None), ("1.39.0", None)])
def test_known_broken_weaviate_releases_are_refused_at_connect(version, refusal):
    with FakeWeaviate(version=version) as fake:
        if refusal:
            with pytest.raises(IndexStoreError, match=rf"runs Weaviate {version}.*{refusal}.*Upgrade"):
                WeaviateStore(fake_settings(fake))
            assert not any(r.startswith(("POST", "PUT", "DELETE")) for r in fake.state.requests)
            return
        store = WeaviateStore(fake_settings(fake))
        store.close()


def test_a_client_upgrade_that_moves_the_grpc_stub_fails_loudly_at_connect(fake_weaviate, monkeypatch):
    from weaviate.connect.v4 import _ConnectionBase as ConnectionV4

    opened = ConnectionV4.open_connection_grpc

    def open_elsewhere(self, colour):  # a client that keeps its stub under another name
        opened(self, colour)
        self._moved_stub, self._grpc_stub = self._grpc_stub, None

    monkeypatch.setattr(ConnectionV4, "open_connection_grpc", open_elsewhere)
    monkeypatch.setattr(ConnectionV4, "grpc_stub", property(lambda self: self._moved_stub))
    with pytest.raises(IndexStoreError, match=r"no longer keeps its gRPC stub.*pyproject.toml pins"):
        WeaviateStore(fake_settings(fake_weaviate))


def test_the_wrapped_grpc_stub_is_the_one_the_client_calls(store):
    from bot.knowledge.stores.weaviate.connection import _FailFastStub

    assert isinstance(store.client._connection.grpc_stub, _FailFastStub)


def test_cloud_urls_put_grpc_on_its_own_host():
    from bot.knowledge.stores.weaviate.connection import connection_params

    cloud = connection_params(WeaviateSettings(url="https://abc123.c0.europe-west3.gcp.weaviate.cloud"))
    assert (cloud.grpc.host, cloud.grpc.port, cloud.grpc.secure) == (
        "grpc-abc123.c0.europe-west3.gcp.weaviate.cloud", 443, True)
    local = connection_params(WeaviateSettings(url="http://localhost:8080"))
    assert (local.http.port, local.grpc.host, local.grpc.port, local.grpc.secure) == (8080, "localhost", 50051, False)


# ----- multi-tenancy ----------------------------------------------------------------------------

@pytest.fixture
def tenant_store(fake_weaviate):
    store = WeaviateStore(fake_settings(fake_weaviate, multi_tenancy=True))
    yield store
    store.close()


def test_teams_never_see_each_others_policies(tenant_store, embeddings):
    alpha, beta = tenant_store.index_for("T0ALPHA"), tenant_store.index_for("987654321")
    write(alpha, embeddings, chunks_of("shipping"))
    write(beta, embeddings, chunks_of("warranty"))
    assert {h.chunk.document_id for h in search(alpha, embeddings, "tent warranty shipping", limit=10)} == {"shipping"}
    assert {h.chunk.document_id for h in search(beta, embeddings, "tent warranty shipping", limit=10)} == {"warranty"}
    assert (alpha.count(), beta.count(), alpha.generation(), beta.generation()) == (1, 1, 1, 1)
    assert tenant_store.index_for("T0GAMMA").count() == 0


def test_a_teams_full_rebuild_switches_only_its_tenant(fake_weaviate, tenant_store, embeddings):
    alpha, beta = tenant_store.index_for("T0ALPHA"), tenant_store.index_for("T0BETA")
    write(alpha, embeddings, all_chunks())
    write(beta, embeddings, chunks_of("warranty"))
    shards = lambda: set(fake_weaviate.state.collections[fake_weaviate.state.aliases[tenant_store.alias]].shards)  # noqa: E731
    before = shards()
    fake_weaviate.state.reject_next_objects(1)
    with pytest.raises(IndexStoreError):
        write(alpha, embeddings, chunks_of("shipping"), full=True)
    assert shards() == before and alpha.count() == 5  # the failed rebuild left no trace
    assert write(alpha, embeddings, chunks_of("shipping"), full=True) == 2
    assert alpha.count() == 1 and beta.count() == 1
    # The replaced tenant waits out weaviate.drop_grace_s for searches already under way.
    assert shards() == {"T0ALPHA--g1", "T0ALPHA--g2", "T0BETA--g1"}
    assert [(r.tenant, r.name) for r in tenant_store.generations.retired()] == [("T0ALPHA", "T0ALPHA--g1")]


def test_the_routed_index_follows_the_team_asking(tenant_store, embeddings):
    write(tenant_store.index_for("T0ALPHA"), embeddings, chunks_of("shipping"))
    routed = TenantRoutedIndex(tenant_store)
    assert routed.generation() == 0 and search(routed, embeddings, "shipping") == []
    with tenant_scope("T0ALPHA"):
        assert routed.generation() == 1
        assert search(routed, embeddings, "shipping")[0].chunk.document_id == "shipping"
    with tenant_scope("not a valid id!"), pytest.raises(IndexStoreError, match="not usable"):
        routed.count()


async def test_the_service_answers_each_team_from_its_own_knowledge_base(
        tenant_store, small_kb, tmp_path, embeddings):
    settings = make_settings(tmp_path, small_kb)
    settings = settings.model_copy(update={"weaviate": settings.weaviate.model_copy(update={"multi_tenancy": True})})
    bot = build_bot(settings, embeddings=embeddings, answerer=None, index=TenantRoutedIndex(tenant_store))
    bot.reindex(tenant="T0ALPHA")
    question = "What is the approval limit for refund exceptions?"

    def ask(team: str) -> Inquiry:
        return replace(inquiry(question, Audience.STAFF), tenant=team)

    answered = await bot.answer(ask("T0ALPHA"))
    assert answered.grounded and "250 dollars" in answered.text
    assert [s.title for s in answered.sources] == ["Approval limits"]
    other = await bot.answer(ask("T0BETA"))  # same question, a team with no knowledge base yet
    assert not other.grounded and not other.cached and "250" not in other.text


# ----- wiring and degradation -------------------------------------------------------------------

def test_wiring_uses_weaviate_when_weaviate_url_is_set(fake_weaviate, monkeypatch, tmp_path):
    assert type(build_index(load_settings(None, data_dir=tmp_path))).__name__ == "LocalHybridIndex"
    monkeypatch.setenv("WEAVIATE_URL", fake_weaviate.url)
    monkeypatch.setenv("SUPPORTBOT_WEAVIATE__GRPC_PORT", str(fake_weaviate.grpc_port))
    monkeypatch.setenv("SUPPORTBOT_WEAVIATE__COLLECTION", "SbtestWiring")
    index = build_index(load_settings(None, data_dir=tmp_path))
    try:
        assert isinstance(index, WeaviateIndex) and index.store.alias == "SbtestWiring"
    finally:
        index.store.close()


async def test_a_weaviate_outage_declines_instead_of_failing(fake_weaviate, store, small_kb, tmp_path, embeddings):
    settings = make_settings(tmp_path, small_kb)
    bot = build_bot(settings, embeddings=embeddings, answerer=None, index=store.index_for(None))
    bot.reindex()
    fake_weaviate.state.unavailable = True
    try:
        down = await bot.answer(inquiry("Can I return unused items?"))
    finally:
        fake_weaviate.state.unavailable = False
    assert down.mode == "unavailable" and down.offer_human and not down.grounded
    up = await bot.answer(inquiry("Can I return unused items?"))
    assert up.grounded and not up.cached  # the outage's decline was not cached
