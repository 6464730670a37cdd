"""The re-ranker: its features from two searches, the order its weights give, and its fit."""

import numpy as np
import pytest
from pydantic import ValidationError

from bot.answering.reranking import ANCHOR, FEATURES, OWN_WORDS_FEATURES, candidate_features, fit_reranker, rerank
from bot.answering.retrieval import Retriever, ranked_for
from bot.knowledge.splitting import Chunk
from bot.knowledge.stores.local import LocalHybridIndex
from bot.knowledge.stores.protocol import SearchHit
from bot.settings import RetrievalSettings
from bot.types import Audience, ThreadPages


def _hit(chunk_id: str, document_id: str, score: float, similarity: float, keyword: float = 0.0,
         title: str = "Page", text: str = "text") -> SearchHit:
    chunk = Chunk(id=chunk_id, document_id=document_id, index=0, text=text, title=title, url="u",
                  audience="public", headings=(title,), content_hash="h")
    return SearchHit(chunk=chunk, score=score, similarity=similarity, keyword_score=keyword)


def _column(features: np.ndarray, name: str) -> list[float]:
    return [round(float(v), 6) for v in features[:, FEATURES.index(name)]]


def test_features_read_both_searches_the_page_and_the_title():
    own = [_hit("a1", "passports", 1.0, 0.70, keyword=8.0, title="Renew a passport", text="renew passport by mail"),
           _hit("b1", "fees", 0.4, 0.50, keyword=2.0, title="Fees")]
    context = [_hit("a2", "passports", 1.0, 0.60, title="Renew a passport"),
               _hit("a1", "passports", 0.5, 0.55, title="Renew a passport", text="renew passport by mail")]
    ranked = ranked_for(own, context, follow_up=False, settings=RetrievalSettings())
    features = candidate_features(ranked, own, context, False, "renew passport", ["fees for kids"])
    assert features.shape == (3, len(FEATURES))
    rows = {hit.chunk.id: row for hit, row in zip(ranked, features)}
    a1, a2, b1 = rows["a1"], rows["a2"], rows["b1"]
    value = lambda row, name: row[FEATURES.index(name)]  # noqa: E731
    assert value(a1, "in_own") == value(a1, "in_context") == 1.0
    assert value(a2, "in_own") == 0.0 and value(a2, "own_cosine") == pytest.approx(0.50)  # own search's floor
    assert value(b1, "own_keyword") == pytest.approx(0.25)  # BM25 over the best BM25 of the search
    assert value(a1, "own_gap") == 0.0 and value(b1, "own_gap") == pytest.approx(-0.20)
    assert value(a2, "page_passages") == pytest.approx(np.log1p(2))  # two passports passages found
    assert value(a2, "page_context_second") == pytest.approx(0.5)
    assert value(a1, "title_own") == pytest.approx(1.0)  # "renew" and "passport" are both in the title
    assert value(b1, "title_thread") == pytest.approx(1 / 2)  # "fee" of "fee", "kid"
    assert value(a1, "text_own") == pytest.approx(1.0) and value(b1, "text_own") == 0.0
    assert value(a1, "own_position") == 1.0 and value(a1, "context_position") == 0.5
    assert _column(features, "follow_up_context_score") == [0.0, 0.0, 0.0]  # not a reply


def test_a_page_earlier_answers_cited_counts_once_per_answer_and_the_last_answer_s_pages_once():
    own = [_hit("a", "returns", 1.0, 0.7), _hit("b", "shipping", 0.5, 0.6), _hit("c", "warranty", 0.4, 0.5)]
    ranked = ranked_for(own, [], follow_up=True, settings=RetrievalSettings())
    thread = ThreadPages(cited=("shipping", "returns", "shipping"), consulted=("warranty", "returns"))
    features = candidate_features(ranked, own, [], True, "and sale items?", ["returns"], thread)
    by_page = {hit.chunk.document_id: row[FEATURES.index("cited_earlier")] for hit, row in zip(ranked, features)}
    assert by_page == pytest.approx({"returns": np.log1p(1), "shipping": np.log1p(2), "warranty": 0.0})
    consulted = {hit.chunk.document_id: row[FEATURES.index("consulted_last")] for hit, row in zip(ranked, features)}
    assert consulted == {"returns": 1.0, "shipping": 0.0, "warranty": 1.0}
    reordered = rerank(ranked, features, {"blend": 1.0, "cited_earlier": 10.0})
    assert [hit.chunk.document_id for hit in reordered] == ["shipping", "returns", "warranty"]


def test_the_thread_s_cited_pages_count_only_for_a_message_read_with_its_thread(sample_settings, embeddings):
    index = LocalHybridIndex(sample_settings.index_dir)
    retriever = Retriever(index, embeddings, sample_settings.retrieval)
    alone = retriever.retrieve("How long do refunds take?", Audience.PUBLIC,
                               thread=ThreadPages(cited=("shipping-policy",), consulted=("shipping-policy",)))
    assert alone.thread == ThreadPages()  # a question standing alone (the model's rewrite) may have left the topic
    question = "and for sale items? (earlier: How long do refunds take?)"
    plain = retriever.retrieve(question, Audience.PUBLIC)
    last_page = plain.ranked[-1].chunk.document_id
    leaning = Retriever(index, embeddings, sample_settings.retrieval.model_copy(
        update={"rerank_model": {**sample_settings.retrieval.rerank_model, "cited_earlier": 1000.0}}))
    reply = leaning.retrieve(question, Audience.PUBLIC, thread=ThreadPages(cited=(last_page,)))
    assert reply.thread.cited == (last_page,) and reply.ranked[0].chunk.document_id == last_page
    assert plain.ranked[0].chunk.document_id != last_page


def test_rerank_orders_by_the_weights_and_keeps_ties_in_their_order():
    ranked = [_hit("a", "pa", 0.9, 0.6), _hit("b", "pb", 0.8, 0.5), _hit("c", "pc", 0.7, 0.4)]
    features = np.zeros((3, len(FEATURES)))
    features[:, FEATURES.index("title_own")] = [0.0, 1.0, 0.5]
    features[:, FEATURES.index("blend")] = [0.9, 0.8, 0.7]
    by_title = rerank(ranked, features, {"title_own": 1.0})
    assert [h.chunk.id for h in by_title] == ["b", "c", "a"]
    shares = [h.score for h in by_title]  # the softmax of the model's scores: 0..1, best first
    assert sum(shares) == pytest.approx(1.0) and shares[0] / shares[1] == pytest.approx(np.exp(0.5))
    by_blend = rerank(ranked, features, {"blend": 1.0, "title_own": 0.1})
    assert [h.chunk.id for h in by_blend] == ["a", "b", "c"]
    assert [h.chunk.id for h in rerank(ranked, features, {"own_cosine": 1.0})] == ["a", "b", "c"]  # all 0


def test_the_fit_recovers_a_known_ordering_on_held_out_questions():
    rng = np.random.default_rng(3)
    hidden = np.zeros(len(FEATURES))
    hidden[FEATURES.index("title_own")], hidden[FEATURES.index("own_cosine")] = 4.0, 6.0
    hidden[FEATURES.index("page_passages")] = -2.0

    def questions(n):
        features, targets = [], []
        for _ in range(n):
            x = rng.normal(size=(30, len(FEATURES)))
            target = np.zeros(30)
            target[np.argmax(x @ hidden)] = 1.0
            features.append(x)
            targets.append(target)
        return features, targets

    tuning, tuning_targets = questions(300)
    model = fit_reranker(tuning, tuning_targets, anchor=0.0)
    assert model["own_cosine"] > model["title_own"] > 1.0 > 0 > model["page_passages"]
    assert max(abs(model[name]) for name in FEATURES if hidden[FEATURES.index(name)] == 0) < 1.0
    held_out, held_out_targets = questions(200)
    firsts = [np.argmax(x @ np.array([model[name] for name in FEATURES])) == np.argmax(t)
              for x, t in zip(held_out, held_out_targets)]
    assert np.mean(firsts) > 0.9
    anchored = fit_reranker(tuning, tuning_targets)
    assert anchored["blend"] == pytest.approx(model["blend"] + ANCHOR, abs=1e-3)


def test_the_fit_needs_a_target():
    with pytest.raises(ValueError, match="no question"):
        fit_reranker([np.zeros((3, len(FEATURES)))], [np.zeros(3)])


def test_settings_refuse_an_unknown_feature():
    with pytest.raises(ValidationError, match="title_own"):
        RetrievalSettings(rerank_model={"title_onw": 1.0})


def test_the_retriever_orders_by_a_configured_reranker(sample_settings, embeddings):
    index = LocalHybridIndex(sample_settings.index_dir)
    question = "Can I return an opened item after 30 days?"
    plain = Retriever(index, embeddings, sample_settings.retrieval.model_copy(update={"rerank_model": {}}))
    first = plain.retrieve(question, Audience.PUBLIC)
    # A model that prefers the last-ranked page's passages puts them first: the order is the model's.
    last_page = first.ranked[-1].chunk.document_id
    weights = {"blend": -1.0}
    reranked = Retriever(index, embeddings, sample_settings.retrieval.model_copy(update={"rerank_model": weights}))
    second = reranked.retrieve(question, Audience.PUBLIC)
    assert second.ranked[0].chunk.document_id == last_page
    assert [h.chunk.id for h in second.ranked] != [h.chunk.id for h in first.ranked]
    assert second.hits[0].chunk.id == second.ranked[0].chunk.id  # the answerer gets the model's first


def test_a_new_question_in_a_thread_has_its_own_model_and_a_reply_the_main_one():
    own = [_hit("a", "pa", 1.0, 0.7), _hit("b", "pb", 0.5, 0.6)]
    context = [_hit("b", "pb", 1.0, 0.6), _hit("a", "pa", 0.2, 0.5)]
    settings = RetrievalSettings(rerank_model={"blend": -1.0}, document_support_weight=0.0)  # reverses the blend
    plain = settings.model_copy(update={"rerank_model": {}})
    blended = [h.chunk.id for h in ranked_for(own, context, False, plain)]
    # Without a new-question model, a new question in a thread keeps the blend...
    assert [h.chunk.id for h in ranked_for(own, context, False, settings, "new question")] == blended
    # ...with one, that model orders it, and the main model's weights play no part.
    own_words = settings.model_copy(update={"new_question_rerank_model": {"blend": -1.0}})
    assert [h.chunk.id for h in ranked_for(own, context, False, own_words, "new question")] == blended[::-1]
    plain_reply = [h.chunk.id for h in ranked_for(own, context, True, plain)]
    assert [h.chunk.id for h in ranked_for(own, context, True, settings, "yes")] == plain_reply[::-1]
    assert [h.chunk.id for h in ranked_for(own, context, True, own_words, "yes")] == plain_reply[::-1]
    first = [h.chunk.id for h in ranked_for(own, [], False, settings, "first message")]
    assert first == ["b", "a"]  # no thread: the main model orders it


def test_the_thread_s_pages_cannot_pull_a_new_question_back(sample_settings, embeddings):
    index = LocalHybridIndex(sample_settings.index_dir)
    question = "Do gift cards expire? (earlier: How long do refunds take?)"
    retriever = Retriever(index, embeddings, sample_settings.retrieval)
    asked = retriever.retrieve(question, Audience.PUBLIC)
    assert not asked.signals.follow_up and asked.context_hits  # a new question read with its thread
    last_page = asked.ranked[-1].chunk.document_id
    thread = ThreadPages(cited=(last_page,) * 3, consulted=(last_page,))
    leaning = Retriever(index, embeddings, sample_settings.retrieval.model_copy(
        update={"rerank_model": {**sample_settings.retrieval.rerank_model, "cited_earlier": 1000.0}}))
    again = leaning.retrieve(question, Audience.PUBLIC, thread=thread)
    assert [h.chunk.id for h in again.ranked] == [h.chunk.id for h in asked.ranked]
    assert again.ranked[0].chunk.document_id != last_page


def test_settings_keep_the_thread_out_of_the_new_question_model():
    with pytest.raises(ValidationError, match="own words alone"):
        RetrievalSettings(new_question_rerank_model={"blend": 20.0, "cited_earlier": 1.0})
    assert RetrievalSettings(new_question_rerank_model={"blend": 20.0, "title_own": 1.0}).new_question_rerank_model


def test_the_new_question_fit_reads_only_the_own_words_columns():
    rng = np.random.default_rng(5)
    features, targets = [], []
    for _ in range(200):
        x = rng.normal(size=(20, len(FEATURES)))
        target = np.zeros(20)
        # The answer follows a thread feature half the time and the own cosine the rest: the
        # own-words model can only learn the second.
        column = "consulted_last" if rng.random() < 0.5 else "own_cosine"
        target[np.argmax(x[:, FEATURES.index(column)])] = 1.0
        features.append(x)
        targets.append(target)
    model = fit_reranker(features, targets, anchor=0.0, names=OWN_WORDS_FEATURES)
    assert tuple(model) == OWN_WORDS_FEATURES
    assert model["own_cosine"] > 0.5 and all(abs(w) < 0.2 for name, w in model.items() if name != "own_cosine")
    full = fit_reranker(features, targets, anchor=0.0)
    assert tuple(full) == FEATURES and full["consulted_last"] > 0.5 and full["own_cosine"] > 0.5


def test_more_passages_for_the_answerer_leave_the_decline_signals_alone(sample_settings, embeddings):
    index = LocalHybridIndex(sample_settings.index_dir)
    question = "How long do refunds take?"
    six, eight = (Retriever(index, embeddings, sample_settings.retrieval.model_copy(update={"top_k": k}))
                  .retrieve(question, Audience.PUBLIC) for k in (6, 8))
    assert len(six.hits) == 6 and len(eight.hits) == 8 and eight.hits[:6] == six.hits
    assert eight.signals == six.signals and eight.grounded == six.grounded
