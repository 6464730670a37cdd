import pytest

from bot.knowledge.embeddings import embed_query
from bot.knowledge.indexer import ReindexError, reindex
from bot.knowledge.stores.local import LocalHybridIndex
from bot.knowledge.stores.protocol import SearchQuery
from bot.types import Audience
from tests.conftest import make_settings


class CountingEmbeddings:
    """The real model, counting what it embeds; can be told to fail on a given call."""

    def __init__(self, inner, fail_on_call: int | None = None):
        self.inner, self.fail_on_call = inner, fail_on_call
        self.calls, self.texts = 0, []

    def embed_documents(self, texts):
        self.calls += 1
        if self.fail_on_call == self.calls:
            raise RuntimeError("embedding service fell over")
        self.texts.extend(texts)
        return self.inner.embed_documents(texts)

    def embed_query(self, text):
        return self.inner.embed_query(text)


def _setup(tmp_path, small_kb, embeddings, **overrides):
    settings = make_settings(tmp_path, small_kb, **overrides)
    return settings, LocalHybridIndex(settings.index_dir), CountingEmbeddings(embeddings)


def _top_doc(index, embeddings, text, audience=Audience.PUBLIC):
    hits = index.search(SearchQuery(text=text, vector=embed_query(embeddings, text), audience=audience))
    return hits[0].chunk.document_id if hits else None


def test_first_run_adds_everything_and_reports_counts(tmp_path, small_kb, embeddings):
    settings, index, counting = _setup(tmp_path, small_kb, embeddings)
    progress = []
    summary = reindex(settings, index, counting, on_progress=lambda *a: progress.append(a))
    assert (summary.added, summary.updated, summary.unchanged, summary.deleted) == (3, 0, 0, 0)
    assert summary.chunks_embedded == summary.chunks_total == index.count() == len(counting.texts)
    assert summary.generation == index.generation() == 1
    assert ("embed", summary.chunks_total, summary.chunks_total) in progress


def test_unchanged_documents_are_not_embedded_again(tmp_path, small_kb, embeddings):
    settings, index, counting = _setup(tmp_path, small_kb, embeddings)
    reindex(settings, index, counting)
    counting.texts.clear()
    summary = reindex(settings, index, counting)
    assert summary.unchanged == 3 and summary.chunks_embedded == 0 and counting.texts == []
    assert summary.generation == 2  # every run makes a new generation


def test_edited_document_is_updated_and_deleted_document_is_gone(tmp_path, small_kb, embeddings):
    settings, index, counting = _setup(tmp_path, small_kb, embeddings)
    reindex(settings, index, counting)
    (small_kb / "public" / "shipping.md").write_text(
        "---\ntitle: Shipping\nurl: https://example.test/shipping\n---\n# Shipping\n\n"
        "## Costs\n\nExpress shipping by drone costs 99 dollars.\n")
    (small_kb / "public" / "returns.md").unlink()
    counting.texts.clear()
    summary = reindex(settings, index, counting)
    assert (summary.added, summary.updated, summary.unchanged, summary.deleted) == (0, 1, 1, 1)
    assert all("drone" in t for t in counting.texts)
    assert "returns" not in index.document_hashes()
    assert _top_doc(index, embeddings, "drone delivery price") == "shipping.md"
    assert not any("Standard shipping is free" in c.text for c in index.chunks())


def test_failure_half_way_leaves_the_old_index_answering(tmp_path, small_kb, embeddings):
    settings, index, counting = _setup(tmp_path, small_kb, embeddings)
    reindex(settings, index, counting)
    before = (index.generation(), index.count())
    for n in range(6):
        (small_kb / "public" / f"new-{n}.md").write_text(f"# New {n}\n\nBrand new policy number {n}.")
    failing = CountingEmbeddings(embeddings, fail_on_call=2)
    with pytest.raises(ReindexError, match="keeps serving"):
        reindex(settings.model_copy(update={"embeddings": settings.embeddings.model_copy(
            update={"batch_size": 2})}), index, failing)
    assert (index.generation(), index.count()) == before
    assert _top_doc(LocalHybridIndex(settings.index_dir), embeddings, "return unused items refund") == "returns"


def test_unreadable_file_keeps_its_chunks_and_is_reported(tmp_path, small_kb, embeddings):
    settings, index, counting = _setup(tmp_path, small_kb, embeddings)
    reindex(settings, index, counting)
    (small_kb / "public" / "returns.md").write_bytes(b"\xff\xfe broken")
    summary = reindex(settings, index, counting)
    assert summary.deleted == 0 and len(summary.errors) == 1 and "returns.md" in str(summary.errors[0])
    assert "returns" in index.document_hashes()
    with pytest.raises(ReindexError, match="full rebuild"):
        reindex(settings, index, counting, full=True)


def test_full_rebuild_embeds_everything(tmp_path, small_kb, embeddings):
    settings, index, counting = _setup(tmp_path, small_kb, embeddings)
    reindex(settings, index, counting)
    counting.texts.clear()
    summary = reindex(settings, index, counting, full=True)
    assert summary.added == 3 and summary.chunks_embedded == index.count() == len(counting.texts)


def test_chunking_change_re_embeds_everything(tmp_path, small_kb, embeddings):
    settings, index, counting = _setup(tmp_path, small_kb, embeddings)
    reindex(settings, index, counting)
    changed = settings.model_copy(update={"chunking": settings.chunking.model_copy(update={"chunk_size": 500})})
    summary = reindex(changed, index, counting)
    assert summary.updated == 3
