import numpy as np
import pytest

from bot.knowledge.embeddings import embed_query
from bot.knowledge.fusion import relative_score_fusion
from bot.knowledge.stores.local import LocalHybridIndex
from bot.knowledge.stores.protocol import PolicyIndex, SearchQuery
from bot.types import Audience
from tests.conftest import STAFF_CANARY


def _search(index, embeddings, text, audience=Audience.PUBLIC, **kw):
    return index.search(SearchQuery(text=text, vector=embed_query(embeddings, text), audience=audience, **kw))


def test_is_a_policy_index(sample_settings):
    assert isinstance(LocalHybridIndex(sample_settings.index_dir), PolicyIndex)


def test_finds_the_returns_policy(sample_settings, embeddings):
    hits = _search(LocalHybridIndex(sample_settings.index_dir), embeddings,
                   "Can I return an opened item after 30 days?")
    assert hits[0].chunk.document_id == "returns-and-refunds"
    assert hits[0].similarity > 0.5
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_public_search_never_returns_staff_chunks(sample_settings, embeddings):
    index = LocalHybridIndex(sample_settings.index_dir)
    question = "What is the approval limit for refund exceptions and the exception code?"
    public = _search(index, embeddings, question, limit=50, candidates=1000)
    staff = _search(index, embeddings, question, Audience.STAFF)
    assert public and all(h.chunk.audience == "public" for h in public)
    assert all(STAFF_CANARY not in h.chunk.text for h in public)
    assert staff[0].chunk.document_id == "refund-exceptions"


def test_alpha_zero_is_keyword_ranking_and_one_is_vector_ranking(sample_settings, embeddings):
    index = LocalHybridIndex(sample_settings.index_dir)
    keyword = _search(index, embeddings, "restocking fee", alpha=0.0)
    assert keyword[0].keyword_score == max(h.keyword_score for h in keyword)
    vector = _search(index, embeddings, "restocking fee", alpha=1.0)
    assert vector[0].similarity == max(h.similarity for h in vector)


def test_survives_a_restart(sample_settings, embeddings):
    first = LocalHybridIndex(sample_settings.index_dir)
    again = LocalHybridIndex(sample_settings.index_dir)
    assert again.generation() == first.generation() > 0
    assert again.count() == first.count() > 0
    assert _search(again, embeddings, "password reset link")[0].chunk.document_id == "accounts.html"


def test_empty_index_searches_to_nothing(tmp_path, embeddings):
    index = LocalHybridIndex(tmp_path / "none")
    assert index.generation() == 0 and _search(index, embeddings, "anything") == []


def test_relative_score_fusion_matches_weaviate_formula():
    fused = dict(relative_score_fusion({"a": 10.0, "b": 5.0, "c": 0.0}, {"a": 0.2, "b": 0.8}, alpha=0.75))
    # keyword normalised: a=1, b=0.5, c=0; vector normalised: a=0, b=1
    assert fused["a"] == pytest.approx(0.25)
    assert fused["b"] == pytest.approx(0.75 + 0.125)
    assert fused["c"] == pytest.approx(0.0)


def test_staged_update_is_invisible_until_commit(tmp_path):
    from bot.knowledge.splitting import Chunk, chunk_id

    index = LocalHybridIndex(tmp_path / "idx")
    chunk = Chunk(id=chunk_id("d", 0), document_id="d", index=0, text="hello", title="T", url="u",
                  audience="public", headings=("T",), content_hash="h")
    with index.begin_update(embedding_model="m") as update:
        update.upsert([chunk], np.ones((1, 3), dtype=np.float32))
        assert index.count() == 0
        assert update.commit() == 1
    assert index.count() == 1 and index.generation() == 1
    with index.begin_update(embedding_model="m") as update:
        update.delete_documents(["d"])
        # leaving without commit discards the change
    assert index.count() == 1 and index.generation() == 1


def test_equal_scores_come_back_in_index_order_whatever_the_other_scores():
    # Two versions of one passage score alike to the last bit; which comes first must not depend
    # on the rest of the array (argpartition's order does), or a CPU's rounding picks the page.
    from bot.knowledge.stores.local import _top

    rng = np.random.default_rng(7)
    for _ in range(200):
        scores = rng.random(300) * 0.5
        twins = np.sort(rng.choice(300, size=3, replace=False))
        scores[twins] = 0.9
        scores[rng.choice(300, size=20)] = -np.inf  # filtered out (another audience)
        scores[twins] = 0.9
        top = _top(scores, 10)
        assert list(top[:3]) == list(twins)
        assert list(scores[top]) == sorted(scores[top], reverse=True) and np.isfinite(scores[top]).all()
