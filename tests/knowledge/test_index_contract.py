"""One contract for every PolicyIndex: the local store, WeaviateIndex on the wire-protocol fake, and
WeaviateIndex on a real Weaviate when WEAVIATE_URL is set (skipped, with the reason, otherwise)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from bot.knowledge.embeddings import embed_query, embed_texts
from bot.knowledge.stores.protocol import IndexStoreError, PolicyIndex, SearchQuery
from bot.knowledge.splitting import Chunk, chunk_id
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


def test_queries_keep_answering_during_a_full_rebuild(make_index, embeddings):
    index = make_index(batch_size=1) if make_index.backend != "local" else make_index()
    write(index, embeddings, all_chunks())
    vector = embed_query(embeddings, "Is shipping free?")
    done, outcomes = threading.Event(), []

    def keep_asking() -> None:
        while not done.is_set():
            try:
                hits = index.search(SearchQuery("Is shipping free?", vector, Audience.PUBLIC))
                outcomes.append(hits[0].chunk.document_id if hits else "EMPTY")
            except Exception as exc:  # noqa: BLE001 - any error fails the test below
                outcomes.append(f"ERROR {exc!r}")

    asker = threading.Thread(target=keep_asking)
    asker.start()
    try:
        for _ in range(3):
            write(index, embeddings, all_chunks(), full=True)
    finally:
        done.set()
        asker.join()
    assert outcomes and set(outcomes) == {"shipping"}, sorted(set(outcomes))
    assert index.generation() == 4
