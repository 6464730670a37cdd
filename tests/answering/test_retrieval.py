"""Retrieval in a thread: blending, the decline rule's signals, and the sample knowledge base."""

from dataclasses import replace

import numpy as np
import pytest

from bot.answering.retrieval import GroundingSignals, Retriever, blend, is_grounded_by, support_by_document
from bot.answering.standalone import deterministic_standalone
from bot.knowledge.stores.protocol import SearchHit
from bot.knowledge.stores.local import LocalHybridIndex
from bot.knowledge.splitting import Chunk
from bot.types import Audience, Turn


def _hit(chunk_id: str, score: float, similarity: float, document_id: str = "") -> SearchHit:
    chunk = Chunk(id=chunk_id, document_id=document_id or f"doc-{chunk_id}", index=0, text="t", title="T", url="u",
                  audience="public", headings=("T",), content_hash="h")
    return SearchHit(chunk=chunk, score=score, similarity=similarity, keyword_score=0.0)


def test_blend_weighs_the_two_rankings_and_keeps_the_weightier_similarity():
    own = [_hit("a", 1.0, 0.9), _hit("b", 0.2, 0.3)]
    context = [_hit("b", 1.0, 0.6), _hit("c", 0.5, 0.5)]
    leaning_on_context = blend(own, context, own_weight=0.2)
    assert [h.chunk.id for h in leaning_on_context] == ["b", "c", "a"]
    assert leaning_on_context[0].similarity == 0.6 and leaning_on_context[0].score == pytest.approx(0.84)
    leaning_on_own = blend(own, context, own_weight=0.8)
    assert [h.chunk.id for h in leaning_on_own][:2] == ["a", "b"] and leaning_on_own[1].similarity == 0.3


@pytest.mark.parametrize("signals, grounded", [
    (GroundingSignals(own=0.6), True),
    (GroundingSignals(own=0.3), False),
    (GroundingSignals(own=0.3, context=0.6, agreement=0.1, follow_up=True), True),
    (GroundingSignals(own=0.3, context=0.6, agreement=0.4, follow_up=False), True),
    (GroundingSignals(own=0.3, context=0.6, agreement=0.1, follow_up=False), False),
    (GroundingSignals(own=0.3, context=0.4, agreement=0.9, follow_up=True), False),
])
def test_decline_rule(signals, grounded):
    assert is_grounded_by(signals, min_similarity=0.5, min_agreement=0.25) is grounded


def test_agreement_is_the_cosine_to_the_passages_the_thread_found_even_when_the_own_search_missed_them():
    from bot.answering.retrieval import agreement

    own_vector = np.array([1.0, 0.0, 0.0])
    near, far = np.array([0.6, 0.8, 0.0]), np.array([0.0, 0.0, 2.0])
    context_found = [replace(_hit("a", 0.9, 0.7), vector=far), replace(_hit("b", 0.8, 0.6), vector=near)]
    own = [_hit("c", 0.9, 0.5)]  # the message's own search returned neither passage
    assert agreement(own, context_found, own_vector) == pytest.approx(0.6)
    # A store that returns no vectors: read off the own search, where a passage it missed is -1.
    bare = [replace(hit, vector=None) for hit in context_found]
    assert agreement(own, bare, own_vector) == -1.0
    assert agreement([*own, _hit("b", 0.3, 0.42)], bare, own_vector) == pytest.approx(0.42)
    assert agreement(own, [], own_vector) == -1.0


def test_a_replys_agreement_is_its_own_words_cosine_to_the_threads_best_passages(retriever, embeddings):
    from bot.knowledge.embeddings import embed_query

    question = "Will I get my money back on my card?"
    reply = _ask(retriever, question, ["Can I return an item after 30 days?"])
    own_vector = embed_query(embeddings, question)
    found = reply.context_hits[:6]
    assert found and all(hit.vector is not None for hit in found)
    best = max(float(hit.vector @ own_vector) / float(np.linalg.norm(hit.vector) * np.linalg.norm(own_vector))
               for hit in found)
    assert reply.signals.agreement == pytest.approx(best, abs=1e-5) and reply.signals.agreement > 0.2


@pytest.fixture
def retriever(sample_settings, embeddings):
    return Retriever(LocalHybridIndex(sample_settings.index_dir), embeddings, sample_settings.retrieval)


def _ask(retriever, question, earlier=()):
    history = [Turn("user", text) for text in earlier]
    return retriever.retrieve(deterministic_standalone(question, history), Audience.PUBLIC)


def test_a_reply_in_a_thread_is_answered_from_the_thread(retriever):
    alone = _ask(retriever, "yes, it was opened")
    in_thread = _ask(retriever, "yes, it was opened", ["Can I return an item after 30 days?"])
    assert not alone.grounded
    assert in_thread.grounded and in_thread.hits[0].chunk.document_id == "returns-and-refunds"
    assert in_thread.signals.follow_up and len(in_thread.ranked) >= len(in_thread.hits)


def test_off_topic_in_a_thread_is_declined_and_a_new_topic_finds_its_page(retriever):
    earlier = ["Can I return an item after 30 days?"]
    assert not _ask(retriever, "What's the weather in Paris?", earlier).grounded
    shipping = _ask(retriever, "Do you deliver to PO boxes?", earlier)
    assert shipping.grounded and shipping.hits[0].chunk.document_id == "shipping"


def test_a_page_with_several_matching_passages_moves_up():
    lucky = _hit("a", 0.9, 0.5)
    steady = [_hit("b", 0.8, 0.5, "doc-b"), _hit("b2", 0.7, 0.5, "doc-b")]
    ranked = support_by_document([lucky, *steady], weight=0.35)
    assert [h.chunk.id for h in ranked] == ["b", "b2", "a"]  # 0.8 + 0.35 * 0.7 and 0.7 + 0.35 * 0.7
    assert ranked[0].score == pytest.approx(1.045) and ranked[2].score == 0.9
    assert [h.chunk.id for h in support_by_document([lucky, *steady], weight=0.0)] == ["a", "b", "b2"]


def test_the_answerer_gets_passages_with_different_text():
    from bot.answering.retrieval import distinct_passages

    twins = [_hit("a", 0.9, 0.8, "page#1"), _hit("b", 0.8, 0.8, "page#2"), _hit("c", 0.7, 0.6, "page#3")]
    twins = [twins[0], replace(twins[1], chunk=replace(twins[1].chunk, text=" T ")),
             replace(twins[2], chunk=replace(twins[2].chunk, text="another passage"))]
    assert [h.chunk.id for h in distinct_passages(twins, 2)] == ["a", "c"]  # "t" and " T " are one text


def _passage(chunk_id: str, document_id: str, index: int, text: str, headings=("T",)) -> SearchHit:
    chunk = Chunk(id=chunk_id, document_id=document_id, index=index, text=text, title="T", url="u",
                  audience="public", headings=headings, content_hash="h")
    return SearchHit(chunk=chunk, score=0.5, similarity=0.5, keyword_score=0.0)


def test_the_answerer_gets_the_best_passages_neighbour_in_its_section_instead_of_the_last():
    from bot.answering.retrieval import answer_passages

    best = _passage("p3", "page", 3, "the fee is waived when")
    ranked = [best, _passage("q", "other", 0, "second"), _passage("r", "other", 1, "third"),
              _passage("p4", "page", 4, "you are over 65")]
    assert [h.chunk.id for h in answer_passages(ranked, 3)] == ["p3", "q", "p4"]
    # No following passage among the candidates: the one before it serves.
    before = [best, *ranked[1:3], _passage("p2", "page", 2, "fees")]
    assert [h.chunk.id for h in answer_passages(before, 3)] == ["p3", "q", "p2"]
    # A neighbour under another heading is another section: the best passages as they come.
    elsewhere = [best, *ranked[1:3], _passage("p4", "page", 4, "refunds", headings=("T", "Refunds"))]
    assert [h.chunk.id for h in answer_passages(elsewhere, 3)] == ["p3", "q", "r"]
    # Already given (or the same text under another id): nothing is repeated.
    assert [h.chunk.id for h in answer_passages([best, ranked[3], ranked[1]], 3)] == ["p3", "p4", "q"]
    assert [h.chunk.id for h in answer_passages(ranked, 1)] == ["p3"]
