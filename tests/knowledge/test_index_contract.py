"""One contract for every PolicyIndex: the local store, WeaviateIndex on the wire-protocol fake, and
WeaviateIndex on a real Weaviate when WEAVIATE_URL is set (skipped, with the reason, otherwise).
The last cases are Weaviate's alone (alias switches, team tenants) and run on the fake and the real
server only."""

from __future__ import annotations

import threading
from collections import Counter

import numpy as np
import pytest
from weaviate.classes.tenants import TenantActivityStatus
from weaviate.exceptions import WeaviateConnectionError

from bot.knowledge.embeddings import embed_query, embed_texts
from bot.knowledge.splitting import Chunk, chunk_id
from bot.knowledge.stores.protocol import IndexStoreError, PolicyIndex, SearchQuery
from bot.types import Audience

CANARY = "HP-EXC-7731"
DOCS = {
    "returns": ("Returns", "public", ["You can return unused items within 30 days of delivery for a full refund.",
                                      "Opened items can be returned within 14 days for store credit."]),
    "shipping": ("Shipping", "public", ["Standard shipping is free on orders over 75 dollars."]),
    "warranty": ("Warranty", "public", ["Tents and backpacks carry a two year warranty against "
                                        "manufacturing defects."]),
    "limits": ("Approval limits", "staff", [f"Agents may approve refund exceptions up to 250 dollars. "
                                            f"Code {CANARY}."]),
}


def chunks_of(doc: str, texts: list[str] | None = None, content_hash: str | None = None) -> list[Chunk]:
    title, audience, default = DOCS[doc]
    return [Chunk(id=chunk_id(doc, i), document_id=doc, index=i, text=text, title=title,
                  url=f"https://example.test/{doc}", audience=audience, headings=(title, f"Part {i}"),
                  content_hash=content_hash or f"{doc}-v1", path=f"kb/{doc}.md")
            for i, text in enumerate(texts or default)]


def all_chunks() -> list[Chunk]:
    return [c for doc in DOCS for c in chunks_of(doc)]


def write(index: PolicyIndex, embeddings, chunks: list[Chunk], *, delete=(), full=False) -> int:
    vectors = embed_texts(embeddings, [c.embedding_text() for c in chunks])
    with index.begin_update(full=full, embedding_model="test-model") as update:
        update.delete_documents(list(delete))
        update.upsert(chunks, vectors)
        return update.commit()


def search(index, embeddings, text, audience=Audience.PUBLIC, **kw):
    return index.search(SearchQuery(text=text, vector=embed_query(embeddings, text), audience=audience, **kw))


def commit(index: PolicyIndex, chunks: list[Chunk], vectors: np.ndarray, *, full=False) -> int:
    """write() with vectors embedded once beforehand, for tests that commit many times."""
    with index.begin_update(full=full, embedding_model="test-model") as update:
        update.upsert(chunks, vectors)
        return update.commit()


def test_an_empty_index(make_index, embeddings):
    index = make_index()
    assert isinstance(index, PolicyIndex)
    assert (index.generation(), index.count(), index.document_hashes()) == (0, 0, {})
    assert search(index, embeddings, "anything at all") == []


def test_upsert_then_search_returns_the_same_chunks(make_index, embeddings):
    index = make_index()
    assert write(index, embeddings, all_chunks()) == 1
    assert index.generation() == 1 and index.count() == 5
    assert index.embedding_model() == "test-model"
    assert index.document_hashes() == {d: f"{d}-v1" for d in DOCS}
    assert index.document_paths() == {d: f"kb/{d}.md" for d in DOCS}

    question = "How long do I have to send something back?"
    hits = search(index, embeddings, question)
    assert hits[0].chunk.document_id == "returns"
    assert hits[0].chunk == chunks_of("returns")[hits[0].chunk.index]  # every field round-trips
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    query = embed_query(embeddings, question)
    for hit in hits:  # similarity is the cosine similarity grounding thresholds are calibrated on
        stored = embed_texts(embeddings, [hit.chunk.embedding_text()])[0]
        assert hit.similarity == pytest.approx(float(stored @ query), abs=1e-4)
        # The stored vector comes back with the hit (the thread rule compares other messages with it).
        assert hit.vector is not None and float(hit.vector @ stored) == pytest.approx(1.0, abs=1e-4)


def test_replacing_a_document_drops_its_old_chunks(make_index, embeddings):
    index = make_index()
    write(index, embeddings, all_chunks())
    new = chunks_of("returns", ["Returns are accepted within 60 days, no receipt needed."], "returns-v2")
    assert write(index, embeddings, new, delete=["returns"]) == 2
    assert index.count() == 4
    assert index.document_hashes()["returns"] == "returns-v2"
    texts = [h.chunk.text for h in search(index, embeddings, "returns within days", limit=10)]
    assert "Returns are accepted within 60 days, no receipt needed." in texts
    assert not any("Opened items" in t or "30 days" in t for t in texts)


def test_deleting_a_document(make_index, embeddings):
    index = make_index()
    write(index, embeddings, all_chunks())
    write(index, embeddings, [], delete=["shipping"])
    assert "shipping" not in index.document_hashes() and index.count() == 4
    hits = search(index, embeddings, "Is shipping free?", limit=10)
    assert hits and all(h.chunk.document_id != "shipping" for h in hits)


def test_hybrid_ranking(make_index, embeddings):
    index = make_index()
    write(index, embeddings, all_chunks())
    keyword = search(index, embeddings, "manufacturing defects warranty", alpha=0.0)
    assert keyword[0].chunk.document_id == "warranty"
    assert keyword[0].keyword_score == max(h.keyword_score for h in keyword) > 0
    vector = search(index, embeddings, "my tent broke after a year", alpha=1.0)
    assert vector[0].similarity == max(h.similarity for h in vector)
    assert vector[0].chunk.document_id == "warranty"
    # An exact code only keywords can find: BM25 ranks it first for staff.
    exact = search(index, embeddings, CANARY, Audience.STAFF, alpha=0.0)
    assert exact[0].chunk.document_id == "limits"
    mixed = search(index, embeddings, "free shipping over 75 dollars", alpha=0.5)
    assert mixed[0].chunk.document_id == "shipping" and mixed[0].score == pytest.approx(1.0)


def test_audience_filter_runs_inside_the_search(make_index, embeddings):
    index = make_index()
    write(index, embeddings, all_chunks())
    question = f"refund exception approval limit for agents {CANARY}"
    staff = search(index, embeddings, question, Audience.STAFF)
    assert staff[0].chunk.document_id == "limits"
    # limit=1: a filter applied after the search would return the staff chunk or nothing.
    top_public = search(index, embeddings, question, limit=1)
    assert len(top_public) == 1 and top_public[0].chunk.audience == "public"
    every_public = search(index, embeddings, question, limit=50)
    assert every_public and all(h.chunk.audience == "public" for h in every_public)
    assert all(CANARY not in h.chunk.text for h in every_public)


def test_generations_are_durable_and_abandoned_updates_change_nothing(make_index, embeddings):
    index = make_index()
    write(index, embeddings, all_chunks())
    with index.begin_update(embedding_model="test-model") as update:
        update.delete_documents(["returns"])
        assert index.count() == 5  # staged, not visible
    assert index.generation() == 1 and index.count() == 5
    assert write(index, embeddings, [], delete=["warranty"]) == 2
    restarted = make_index()
    assert restarted.generation() == 2 and restarted.count() == 4
    assert restarted.document_hashes() == index.document_hashes()


def test_a_full_rebuild_replaces_everything(make_index, embeddings):
    index = make_index()
    write(index, embeddings, all_chunks())
    assert write(index, embeddings, chunks_of("shipping") + chunks_of("limits"), full=True) == 2
    assert index.count() == 2 and set(index.document_hashes()) == {"shipping", "limits"}
    assert search(index, embeddings, "Is shipping free?")[0].chunk.document_id == "shipping"


def test_a_failed_write_leaves_the_old_index_serving(make_index, embeddings):
    index = make_index()
    write(index, embeddings, all_chunks())
    with pytest.raises(ValueError):  # one vector per chunk
        with index.begin_update(embedding_model="test-model") as update:
            update.upsert(chunks_of("shipping"), np.zeros((2, 384), dtype=np.float32))
    broken = chunks_of("returns", content_hash="returns-v2")
    vectors = [np.ones(384, dtype=np.float32), np.ones(12, dtype=np.float32)]  # mismatched sizes
    with pytest.raises((ValueError, IndexStoreError)):
        with index.begin_update(full=True, embedding_model="test-model") as update:
            update.upsert(broken, vectors)
            update.commit()
    assert index.generation() == 1 and index.count() == 5
    assert search(index, embeddings, "Is shipping free?")[0].chunk.document_id == "shipping"


def test_shrinking_one_document_and_deleting_another_in_one_update(make_index, embeddings):
    index = make_index()
    write(index, embeddings, all_chunks())
    shorter = chunks_of("returns", ["Returns are accepted within 45 days for a full refund."], "returns-v2")
    assert write(index, embeddings, shorter, delete=["returns", "warranty"]) == 2
    assert index.count() == 3
    assert index.document_hashes() == {"returns": "returns-v2", "shipping": "shipping-v1", "limits": "limits-v1"}
    everything = search(index, embeddings, "returns refund warranty tents days", Audience.STAFF, limit=50)
    assert sorted((h.chunk.document_id, h.chunk.index) for h in everything) == [
        ("limits", 0), ("returns", 0), ("shipping", 0)]
    assert [h.chunk.text for h in everything if h.chunk.document_id == "returns"] == [shorter[0].text]
    restarted = make_index()
    assert restarted.count() == 3 and restarted.document_hashes() == index.document_hashes()


def test_four_search_threads_through_thirty_full_rebuilds(make_index, embeddings):
    """Every search answers while rebuilds switch generations under it. On the fake each search
    takes 100 ms (a loaded production index), so searches that resolved the alias just before a
    switch are still running when the old collection would be dropped."""
    index = make_index()
    chunks = all_chunks()
    vectors = embed_texts(embeddings, [c.embedding_text() for c in chunks])
    commit(index, chunks, vectors)
    if make_index.fake is not None:
        make_index.fake.state.search_latency_s = 0.1
    questions = {"Is shipping free on large orders?": "shipping",
                 "How long do I have to return unused items?": "returns",
                 "Is my tent covered by a warranty against defects?": "warranty",
                 "Standard shipping over 75 dollars": "shipping"}
    done, outcomes = threading.Event(), {q: Counter() for q in questions}

    def keep_asking(question: str) -> None:
        vector = embed_query(embeddings, question)
        while not done.is_set():
            try:
                hits = index.search(SearchQuery(question, vector, Audience.PUBLIC))
                outcomes[question][hits[0].chunk.document_id if hits else "EMPTY"] += 1
            except Exception as exc:  # noqa: BLE001 - any error fails the test below
                outcomes[question][f"ERROR {exc!r}"[:300]] += 1

    askers = [threading.Thread(target=keep_asking, args=(q,)) for q in questions]
    for asker in askers:
        asker.start()
    try:
        generations = [commit(index, chunks, vectors, full=True) for _ in range(30)]
    finally:
        done.set()
        for asker in askers:
            asker.join()
    assert generations == list(range(2, 32)) and index.generation() == 31
    for question, expected in questions.items():
        assert set(outcomes[question]) == {expected}, (question, outcomes[question].most_common(3))


def test_a_lost_live_generation_is_replaced_by_the_newest_one_left(make_index, embeddings):
    index = make_index()
    write(index, embeddings, all_chunks())
    assert write(index, embeddings, chunks_of("shipping") + chunks_of("limits"), full=True) == 2
    make_index.lose_live_generation()
    restarted = make_index()
    assert search(restarted, embeddings, "return unused items within 30 days")[0].chunk.document_id == "returns"
    assert restarted.count() == 5  # generation 1, the newest complete one left
    assert write(restarted, embeddings, chunks_of("warranty", content_hash="warranty-v2"),
                 delete=["warranty"]) == 3  # numbered past the lost generation
    assert make_index().document_hashes()["warranty"] == "warranty-v2"


# ----- Weaviate only ----------------------------------------------------------------------------

def test_an_alias_switch_that_raised_after_taking_effect_keeps_the_new_collection(
        make_weaviate_index, embeddings, monkeypatch):
    index = make_weaviate_index()
    store = index.store
    write(index, embeddings, all_chunks())
    switch = store.client.alias.update

    def applied_then_lost(**kwargs):  # the request reached Weaviate; its reply did not come back
        switch(**kwargs)
        raise WeaviateConnectionError("connection reset by peer")

    monkeypatch.setattr(store.client.alias, "update", applied_then_lost)
    assert write(index, embeddings, chunks_of("shipping") + chunks_of("limits"), full=True) == 2
    live = store.live_collection()
    assert store.client.collections.exists(live)
    assert search(index, embeddings, "Is shipping free?")[0].chunk.document_id == "shipping"
    restarted = make_weaviate_index()
    assert restarted.generation() == 2 and restarted.count() == 2
    assert search(restarted, embeddings, "Is shipping free?")[0].chunk.document_id == "shipping"


def test_an_alias_switch_that_failed_leaves_the_old_collection_serving(
        make_weaviate_index, embeddings, monkeypatch):
    index = make_weaviate_index()
    store = index.store
    write(index, embeddings, all_chunks())
    live = store.live_collection()

    def refused(**kwargs):
        raise WeaviateConnectionError("connection refused")

    monkeypatch.setattr(store.client.alias, "update", refused)
    with pytest.raises(IndexStoreError, match="connection refused"):
        write(index, embeddings, chunks_of("shipping"), full=True)
    assert store.live_collection() == live and index.generation() == 1 and index.count() == 5
    assert not store.client.collections.exists(f"{store.alias}_v2")  # the unfinished one is gone


def test_an_inactive_team_tenant_is_activated_for_searches_and_writes(make_weaviate_index, embeddings):
    index = make_weaviate_index(tenant="T0ALPHA", multi_tenancy=True)
    write(index, embeddings, all_chunks())
    store = index.store
    tenants = store.client.collections.use(store.live_collection()).tenants
    shard = store.meta("T0ALPHA", fresh=True).shard
    tenants.deactivate(shard)
    assert tenants.get_by_name(shard).activity_status == TenantActivityStatus.INACTIVE
    assert search(index, embeddings, "Is shipping free?")[0].chunk.document_id == "shipping"
    assert tenants.get_by_name(shard).activity_status == TenantActivityStatus.ACTIVE
    tenants.deactivate(shard)
    assert write(index, embeddings, [], delete=["warranty"]) == 2
    assert index.count() == 4
