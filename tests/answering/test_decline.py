"""The decline model: its signals from a search, its fit, and the decision it drives."""

import numpy as np
import pytest

from bot.answering.decline import FEATURES, contributions, decline_score, fit_decline_model, model_answers
from bot.answering.retrieval import GroundingSignals, decides_to_answer, own_signals
from bot.knowledge.keywords import keyword_tokens
from bot.knowledge.splitting import Chunk
from bot.knowledge.stores.protocol import SearchHit
from bot.settings import RetrievalSettings


def _hit(document_id: str, similarity: float, keyword: float) -> SearchHit:
    chunk = Chunk(id=f"{document_id}-{similarity}", document_id=document_id, index=0, text="t", title="T",
                  url="u", audience="public", headings=("T",), content_hash="h")
    return SearchHit(chunk=chunk, score=similarity, similarity=similarity, keyword_score=keyword)


def test_own_signals_read_margin_keyword_strength_and_agreement_from_the_candidates():
    hits = [_hit("renewal", 0.70, 9.0), _hit("renewal", 0.65, 4.0), _hit("fees", 0.50, 1.0)]
    signals = own_signals(hits, "How do I renew my licence?", top_k=6)
    assert signals.own == pytest.approx(0.70)
    assert signals.margin == pytest.approx(0.20)  # pages compared, not passages of one page
    words = len(set(keyword_tokens("How do I renew my licence?")))
    assert signals.keyword == pytest.approx(9.0 / words)  # per query word: long questions score more
    assert signals.methods_agree
    split = own_signals([_hit("a", 0.7, 1.0), _hit("b", 0.6, 5.0)], "renew licence", top_k=6)
    assert not split.methods_agree


def _passage(document_id: str, text: str, title: str = "T") -> SearchHit:
    chunk = Chunk(id=f"{document_id}-{text}", document_id=document_id, index=0, text=text, title=title,
                  url="u", audience="public", headings=(title,), content_hash="h")
    return SearchHit(chunk=chunk, score=0.5, similarity=0.5, keyword_score=1.0)


def test_own_signals_measure_how_much_of_the_question_a_passage_and_a_page_hold():
    # "renew", "passport", "fee": one passage holds two with its title, the page all three.
    hits = [_passage("passports", "Send the form by mail.", title="Renew a passport"),
            _passage("passports", "The fee is 130 dollars."), _passage("weather", "Rain in Paris.")]
    signals = own_signals(hits, "renew passport fee", top_k=6)
    assert signals.passage_words == pytest.approx(2 / 3) and signals.page_words == pytest.approx(1.0)
    off_topic = own_signals(hits, "book a table for dinner", top_k=6)
    assert off_topic.passage_words == 0.0 and off_topic.page_words == 0.0


def test_no_candidates_give_signals_that_decline():
    assert own_signals([], "anything", top_k=6).own == -1.0


def _synthetic(rng, n, answerable):
    # Answerable questions: close passages, strong keywords, the two searches agree; the others not.
    shift = 1.0 if answerable else 0.0
    return [GroundingSignals(own=0.35 + 0.15 * shift + rng.normal(0, 0.05), keyword=np.exp(1 + shift) - 1,
                             margin=0.05 * shift, methods_agree=bool(answerable or rng.random() < 0.3))
            for _ in range(n)]


def test_the_fit_answers_the_goal_share_of_answerable_questions_and_declines_the_rest():
    rng = np.random.default_rng(7)
    good, bad = _synthetic(rng, 300, True), _synthetic(rng, 300, False)
    model = fit_decline_model(good + bad, [True] * 300 + [False] * 300, answered_goal=0.96)
    assert set(model) == {*FEATURES, "bias"}
    answered = np.mean([model_answers(model, s) for s in good])
    declined = np.mean([not model_answers(model, s) for s in bad])
    assert answered >= 0.96 and declined > 0.9
    assert model["own"] > 0  # closer passages push toward answering


def test_contributions_add_up_to_the_score():
    model = {"own": 10.0, "keyword": 1.5, "methods_agree": 0.5, "bias": -6.0}
    signals = GroundingSignals(own=0.5, keyword=np.e - 1, methods_agree=True)
    parts = contributions(model, signals)
    assert parts["own"] == pytest.approx(5.0) and parts["keyword"] == pytest.approx(1.5)
    assert decline_score(model, signals) == pytest.approx(sum(parts.values()) - 6.0)


def test_the_configured_model_replaces_the_threshold_rule():
    signals = GroundingSignals(own=0.40, keyword=20.0, methods_agree=True)
    assert not decides_to_answer(signals, RetrievalSettings(min_similarity=0.46))
    model = {"own": 10.0, "keyword": 1.0, "bias": -6.0}
    assert decides_to_answer(signals, RetrievalSettings(min_similarity=0.46, decline_model=model))


def test_a_misspelt_signal_in_the_settings_says_which_ones_exist():
    with pytest.raises(ValueError, match="unknown signal.*ownn.*the model knows own"):
        RetrievalSettings(decline_model={"ownn": 1.0})


def test_questions_the_thread_grounds_count_toward_the_goal_so_the_cut_is_stricter():
    rng = np.random.default_rng(11)
    good, bad = _synthetic(rng, 200, True), _synthetic(rng, 200, False)
    labels = [True] * 200 + [False] * 200
    alone = fit_decline_model(good + bad, labels, answered_goal=0.96)
    anyway = [i < 100 for i in range(400)]  # half the answerable ones are grounded by their thread
    helped = fit_decline_model(good + bad, labels, answered_goal=0.96, answered_anyway=anyway)
    assert helped["bias"] < alone["bias"]
    answered = sum(model_answers(helped, s) or a for s, a in zip(good, anyway)) / 200
    assert answered >= 0.96


def test_with_a_model_the_thread_still_grounds_a_reply():
    model = {"own": 10.0, "bias": -6.0}  # own words at 0.3 score -3: not grounded on their own
    reply = GroundingSignals(own=0.3, context=0.6, agreement=0.1, follow_up=True)
    assert decides_to_answer(reply, RetrievalSettings(min_similarity=0.46, decline_model=model))
    new_topic = GroundingSignals(own=0.3, context=0.6, agreement=0.1, follow_up=False)
    assert not decides_to_answer(new_topic, RetrievalSettings(min_similarity=0.46, decline_model=model))
