"""The collections behind the alias over time, against the wire-protocol fake: writes by name,
replaced generations kept for the grace period and then dropped (by whichever process sweeps),
repairs at start-up, reads that retry once, and team tenants Weaviate deactivated or offloaded."""

from __future__ import annotations

import threading

import pytest
from weaviate.classes.query import Filter

from bot.knowledge.stores.protocol import IndexStoreError
from bot.knowledge.stores.weaviate.store import WeaviateStore
from tests.knowledge.conftest import fake_settings, unique_collection
from tests.knowledge.test_index_contract import all_chunks, chunks_of, search, write


@pytest.fixture
def open_store(fake_weaviate):
    """Stores on one collection name, as several processes (bot workers, the indexer) open it."""
    name, opened = unique_collection(), []

    def make(**overrides) -> WeaviateStore:
        opened.append(WeaviateStore(fake_settings(fake_weaviate, collection=name, **overrides)))
        return opened[-1]

    yield make
    for store in opened:
        store.close()


def versioned(fake, alias: str) -> list[str]:
    return sorted(c for c in fake.state.collections if c.startswith(f"{alias}_v"))


def rebuilt_once(store: WeaviateStore, embeddings, rebuilt_with=None):
    """Generation 1 in <alias>_v0, then a full rebuild into <alias>_v2, which retires _v0."""
    index = store.index_for(None)
    write(index, embeddings, all_chunks())
    write(index, embeddings, rebuilt_with or all_chunks(), full=True)
    return index


def test_writes_and_deletes_name_the_live_collection_never_the_alias(fake_weaviate, open_store, embeddings):
    store = open_store()
    index = store.index_for(None)
    start = len(fake_weaviate.state.writes)
    write(index, embeddings, all_chunks())
    write(index, embeddings, chunks_of("returns", ["Returns: 45 days."], "returns-v2"), delete=["returns"])
    write(index, embeddings, all_chunks(), full=True)
    write(index, embeddings, [], delete=["warranty"])
    targets = {name for call, name in fake_weaviate.state.writes[start:] if name.startswith(store.alias)}
    assert {call for call, _ in fake_weaviate.state.writes[start:]} == {"BatchObjects", "BatchDelete"}
    assert targets == {f"{store.alias}_v0", f"{store.alias}_v3", f"{store.alias}Meta"}


def test_a_replaced_collection_is_dropped_once_its_grace_period_is_over(fake_weaviate, open_store, embeddings):
    indexer = open_store()
    rebuilt_once(indexer, embeddings)
    alias = indexer.alias
    assert versioned(fake_weaviate, alias) == [f"{alias}_v0", f"{alias}_v2"]  # _v0 still in its grace
    assert indexer.sweep() == []
    # Another process with no grace left (a bot worker, say) sweeps what the indexer retired.
    worker = open_store(drop_grace_s=0)
    assert versioned(fake_weaviate, alias) == [f"{alias}_v2"]
    assert worker.generations.retired() == [] and worker.sweep() == []
    assert search(worker.index_for(None), embeddings, "Is shipping free?")[0].chunk.document_id == "shipping"


def test_a_search_whose_collection_is_dropped_under_it_asks_once_more(fake_weaviate, open_store, embeddings):
    store = open_store(drop_grace_s=0)
    index = store.index_for(None)
    write(index, embeddings, all_chunks())
    results, searched = [], len(fake_weaviate.state.searches)
    hold = fake_weaviate.state.hold_next_search()
    asker = threading.Thread(target=lambda: results.append(search(index, embeddings, "Is shipping free?")))
    asker.start()
    assert hold.resolved.wait(10)  # the search resolved the alias to the first collection and waits
    write(index, embeddings, chunks_of("shipping", ["Shipping is free on every order now."], "shipping-v2"),
          full=True)  # no grace: the collection the search resolved is dropped at once
    hold.released.set()
    asker.join()
    assert results[0][0].chunk.text == "Shipping is free on every order now."
    ranked = [r for r in fake_weaviate.state.searches[searched:] if r.HasField("hybrid_search")]
    assert len(ranked) == 2  # the one that found its collection gone, and the retry


def test_start_up_records_older_collections_nobody_retired(fake_weaviate, open_store, embeddings):
    first = open_store()
    rebuilt_once(first, embeddings)
    alias = first.alias
    retired = first.generations.retired()
    first.client.collections.use(f"{alias}Meta").data.delete_many(  # as if the process died
        where=Filter.by_id().contains_any([r.object_id for r in retired]))  # between switch and record
    assert first.generations.retired() == []
    restarted = open_store(drop_grace_s=0)
    assert versioned(fake_weaviate, alias) == [f"{alias}_v2"]
    assert restarted.index_for(None).count() == 5


def test_a_dangling_alias_with_nothing_left_points_at_an_empty_collection(fake_weaviate, open_store, embeddings):
    store = open_store()
    write(store.index_for(None), embeddings, all_chunks())
    store.client.collections.delete(f"{store.alias}_v0")
    restarted = open_store()
    index = restarted.index_for(None)
    assert search(index, embeddings, "Is shipping free?") == [] and index.count() == 0
    assert restarted.live_collection() == f"{store.alias}_v0"  # an unused name: none was left
    assert write(index, embeddings, all_chunks(), full=True) == 2  # and indexing brings it back
    assert search(index, embeddings, "Is shipping free?")[0].chunk.document_id == "shipping"


def test_a_repaired_alias_keeps_the_collection_it_points_at_through_sweeps(fake_weaviate, open_store, embeddings):
    store = open_store()
    rebuilt_once(store, embeddings, chunks_of("shipping"))
    store.client.collections.delete(f"{store.alias}_v2")
    restarted = open_store(drop_grace_s=0)  # repairs to _v0, whose retirement record is overdue
    assert restarted.live_collection() == f"{restarted.alias}_v0"
    assert restarted.sweep() == [] and restarted.generations.retired() == []
    assert restarted.index_for(None).count() == 5


# ----- team tenants -----------------------------------------------------------------------------

def test_an_offloaded_team_tenant_says_what_to_do(fake_weaviate, open_store, embeddings):
    store = open_store(multi_tenancy=True)
    index = store.index_for("T0ALPHA")
    write(index, embeddings, all_chunks())
    shard = store.meta("T0ALPHA", fresh=True).shard
    fake_weaviate.state.set_tenant_status(store.live_collection(), shard, "FROZEN")
    with pytest.raises(IndexStoreError, match=r"T0ALPHA.*OFFLOADED.*supportbot index --full --tenant T0ALPHA"):
        search(index, embeddings, "Is shipping free?")
    fake_weaviate.state.set_tenant_status(store.live_collection(), shard, "FREEZING")
    with pytest.raises(IndexStoreError, match="moving to or from cold storage; try again"):
        search(index, embeddings, "Is shipping free?")
    fake_weaviate.state.set_tenant_status(store.live_collection(), shard, "HOT")
    assert search(index, embeddings, "Is shipping free?")[0].chunk.document_id == "shipping"


def test_a_teams_replaced_tenant_is_dropped_after_the_grace_period(fake_weaviate, open_store, embeddings):
    store = open_store(multi_tenancy=True, drop_grace_s=0)
    alpha = store.index_for("T0ALPHA")
    write(alpha, embeddings, all_chunks())
    write(alpha, embeddings, chunks_of("shipping"), full=True)
    live = fake_weaviate.state.collections[store.live_collection()]
    assert set(live.shards) == {"T0ALPHA--g2"} and store.generations.retired() == []
    assert alpha.count() == 1
