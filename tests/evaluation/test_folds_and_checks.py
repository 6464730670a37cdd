"""Cross-validation by groups, the thread checks, the paraphrase-cache figures."""

from dataclasses import replace

import numpy as np
import pytest

from bot.answering.reranking import OWN_WORDS_FEATURES
from bot.answering.retrieval import GroundingSignals, Retrieval
from bot.evaluation.datasets import ANSWERABLE, OFFTOPIC, UNANSWERABLE, EvalCase, load_questions
from bot.evaluation.folds import ANSWERED_GOAL, cross_validate, fold_of
from bot.evaluation.paraphrase import paraphrase_figures
from bot.evaluation.report import (cross_validation_rows, decline_miss_rows, decline_model_rows,
                                   new_question_rerank_model_rows, rerank_model_rows)
from bot.evaluation.runner import CaseResult
from bot.evaluation.threads import NEW_TOPIC, OFFTOPIC_IN_THREAD, thread_checks
from bot.knowledge.stores.protocol import SearchHit
from bot.knowledge.splitting import Chunk
from bot.settings import RetrievalSettings
from bot.types import Answer, Turn


def _hit(document_id: str, score: float, similarity: float = 0.5) -> SearchHit:
    chunk = Chunk(id=f"{document_id}-0", document_id=document_id, index=0, text="t", title="T", url="u",
                  audience="public", headings=("T",), content_hash="h")
    return SearchHit(chunk=chunk, score=score, similarity=similarity, keyword_score=0.0)


def _result(case: EvalCase, own: list[SearchHit], own_similarity: float, standalone: str = "q") -> CaseResult:
    answer = Answer(text="", sources=[], grounded=False, answer_id="a", prompt_version="v",
                    standalone_question=standalone, mode="declined")
    retrieval = Retrieval(question="q", hits=own[:6], best_similarity=own_similarity, grounded=False,
                          ranked=own, own_hits=own)
    return CaseResult(case=case, answer=answer, ranked_documents=[h.chunk.document_id for h in own], passages=[],
                      retrieved_documents=set(), timings_ms={}, signals=GroundingSignals(own=own_similarity),
                      retrieval=retrieval)


def test_folds_keep_groups_whole_and_are_stable():
    assert fold_of("page:Passports", 5) == fold_of("page:Passports", 5)
    assert {fold_of(f"page:{n}", 5) for n in range(200)} == set(range(5))


def test_questions_about_one_page_share_a_group(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text('{"id": "d1_1", "dialogue_id": "d1", "question": "a?", "gold_doc_ids": ["Page#1_0"]}\n'
                    '{"id": "d2_1", "dialogue_id": "d2", "question": "b?", "gold_doc_ids": ["Page#2_0"]}\n'
                    '{"id": "d3_1", "dialogue_id": "d3", "question": "c?", "answerable": false}\n')
    cases = load_questions(path)
    assert cases[0].group == cases[1].group == "page:Page" and cases[2].group == "dialogue:d3"


def test_cross_validation_fits_on_other_folds_and_reports_the_spread():
    results = []
    for n in range(60):  # the gold page is second by own words; answerable ones are close in meaning
        case = EvalCase(id=f"a{n}", kind=ANSWERABLE, domain="x" if n % 2 else "y", question="q",
                        gold_doc_ids=(f"gold{n}",), group=f"page:{n}")
        results.append(_result(case, [_hit(f"other{n}", 1.0), _hit(f"gold{n}", 0.9)], 0.55 + (n % 10) / 100))
    for n in range(40):
        kind = UNANSWERABLE if n % 2 else OFFTOPIC
        case = EvalCase(id=f"o{n}", kind=kind, domain=kind, question="q", group=f"request:{n}")
        results.append(_result(case, [_hit("any", 1.0)], 0.3 + (n % 10) / 100))
    report = cross_validate(results, RetrievalSettings(), folds=4)
    assert len(report["per_fold"]) == 4 and sum(f["n"] for f in report["per_fold"]) == 100
    summary = report["summary"]
    assert summary["top5"]["mean"] == 1.0 and summary["top1"]["mean"] == 0.0
    assert {"top5.x", "top5.y", "offtopic_declined_rate", "unanswerable_declined_rate"} <= set(summary)
    # Thresholds between the two clouds of similarities separate them on every held-out fold.
    assert summary["answered_rate"]["min"] == 1.0 and summary["offtopic_declined_rate"]["min"] == 1.0
    assert all(0.39 < chosen["min_similarity"] <= 0.55 for chosen in report["chosen"])
    assert set(report["fitted_on_all"]) >= {"min_similarity", "document_support_weight"}
    # The decline model is fitted per fold too and measured beside the rule on the held-out fold.
    assert summary["model.offtopic_declined_rate"]["min"] == 1.0
    assert summary["model.unanswerable_declined_rate"]["min"] == 1.0
    assert summary["model.answered_rate"]["mean"] >= 0.9
    # ... and again beside the configured thread rule (the one the product ships).
    assert summary["configured_thread_rule.model.offtopic_declined_rate"]["min"] == 1.0
    assert summary["configured_thread_rule.model.answered_rate"]["mean"] >= 0.9
    assert len(report["decline_models"]) == 4 and report["decline_model_on_all"]["own"] > 0
    header, rows = decline_model_rows({"cross_validation": report})
    assert rows[0][0] == "own" and rows[-1][0] == "bias" and ".." in rows[0][2]
    # The re-ranker too: fitted per fold, judged beside the configured blend, weights in the report.
    assert len(report["rerank_models"]) == 4 and {"blend.top1", "rerank.top1", "rerank.top5.x"} <= set(summary)
    assert summary["blend.top1"]["mean"] == 0.0  # the gold page is second by the blend
    assert summary["rerank.top1"]["mean"] == 1.0  # the fit learnt to lift it (lower own score here)
    header, rows = rerank_model_rows({"cross_validation": report})
    assert rows[0][0] == "blend" and ".." in rows[0][2] and len(rows) == len(report["rerank_model_on_all"])
    # ...and the new-question model, over the own search's features alone.
    assert len(report["new_question_rerank_models"]) == 4
    assert tuple(report["new_question_rerank_model_on_all"]) == OWN_WORDS_FEATURES
    header, rows = new_question_rerank_model_rows({"cross_validation": report})
    assert [row[0] for row in rows] == list(OWN_WORDS_FEATURES) and ".." in rows[0][2]
    labels = [row[0] for row in cross_validation_rows({"cross_validation": report})[1]]
    assert "re-ranker: gold document in top 1" in labels and "re-ranker: top 5, x" in labels


def _case(n: int, history=(), kind=ANSWERABLE, group=None) -> EvalCase:
    return EvalCase(id=f"c{n}", kind=kind, domain="d", question=f"question {n}?", history=tuple(history),
                    gold_doc_ids=(f"doc{n}",) if kind == ANSWERABLE else (), group=group or f"page:{n}")


def test_thread_checks_put_questions_into_other_dialogues_threads():
    thread = [Turn("user", "first"), Turn("assistant", "reply")]
    cases = ([_case(n) for n in range(10)] + [_case(n, thread) for n in range(10, 20)]
             + [_case(n, kind=OFFTOPIC) for n in range(20, 30)])
    checks = thread_checks(cases, count=5)
    new_topic = [c for c in checks if c.check == NEW_TOPIC]
    offtopic = [c for c in checks if c.check == OFFTOPIC_IN_THREAD]
    assert len(new_topic) == len(offtopic) == 5
    for check in new_topic:
        original = next(c for c in cases if c.id == check.id.split(":", 1)[1])
        assert not original.history and check.question == original.question
        assert len(check.history) == 3 and check.history[-1].role == "user"
        assert check.history[-1].text not in (original.question,)
    assert thread_checks(cases, count=5) == checks  # fixed seed


class _Vectors:
    """An Embeddings stand-in with chosen vectors: the figures' arithmetic is what is tested."""

    def __init__(self, table: dict[str, list[float]]) -> None:
        self.table = table

    def embed_documents(self, texts):
        return [self.table[t] for t in texts]


def test_paraphrase_figures_count_false_and_true_hits():
    def case(n, doc, span, history=()):
        return replace(_case(n, history), gold_doc_ids=(doc,), gold_char_span=span)

    results = [_result(case(0, "a", (0, 10)), [], 0.5, "q0"), _result(case(1, "a", (5, 20)), [], 0.5, "q1"),
               _result(case(2, "b", (0, 10)), [], 0.5, "q2"),
               _result(case(3, "b", (50, 60), [Turn("user", "x")]), [], 0.5, "q3")]
    s = np.sqrt(0.5)
    vectors = {"q0": [1, 0, 0], "q1": [1, 0, 0], "q2": [s, s, 0], "q3": [0, 0, 1]}
    figures = paraphrase_figures(results, _Vectors(vectors), threshold=0.95)
    assert figures["same_passage_pairs"] == 1 and figures["different_passage_pairs"] == 5
    assert figures["configured"]["hit_rate_same_passage"] == 1.0
    assert figures["configured"]["false_hit_rate"] == 0.0
    at_085 = next(row for row in figures["sweep"] if row["threshold"] == 0.85)
    assert at_085["false_hit_rate"] == 0.0
    assert figures["safe_threshold"] == 0.85 and figures["first_messages"]["questions"] == 3


def test_paraphrase_figures_find_the_unsafe_thresholds():
    results = [_result(replace(_case(n), gold_char_span=(0, 10)), [], 0.5, f"q{n}") for n in range(3)]
    vectors = {"q0": [1, 0], "q1": [0.96, 0.28], "q2": [0, 1]}  # q0 and q1: cosine 0.96, other pages
    figures = paraphrase_figures(results, _Vectors(vectors), threshold=0.95)
    assert figures["configured"]["questions_with_a_false_hit"] == pytest.approx(2 / 3)
    assert figures["safe_threshold"] == 0.97


def test_the_same_words_on_two_near_identical_pages_are_one_passage():
    texts = {"page#1": "Intro. You need a birth certificate and a passport.", "page#2": "You need a birth "
             "certificate and a passport. More.", "other": "Something else entirely, about fees."}
    spans = {"page#1": (7, 51), "page#2": (0, 44), "other": (0, 20)}
    results = [_result(replace(_case(n), gold_doc_ids=(doc,), gold_char_span=spans[doc]), [], 0.5, f"q{n}")
               for n, doc in enumerate(["page#1", "page#2", "other"])]
    vectors = {"q0": [1, 0], "q1": [1, 0], "q2": [0.96, 0.28]}
    figures = paraphrase_figures(results, _Vectors(vectors), threshold=0.95, texts=texts)
    assert figures["same_passage_pairs"] == 1 and figures["configured"]["hit_rate_same_passage"] == 1.0
    assert figures["configured"]["questions_with_a_false_hit"] == 1.0  # q2 is close to both


def test_the_decline_models_held_out_mistakes_are_listed_with_each_signals_part():
    results = []
    for n in range(60):
        case = EvalCase(id=f"a{n}", kind=ANSWERABLE, domain="x", question=f"answerable {n}?",
                        gold_doc_ids=(f"gold{n}",), group=f"page:{n}")
        results.append(_result(case, [_hit(f"gold{n}", 1.0)], 0.55 + (n % 10) / 100))
    for n in range(40):
        case = EvalCase(id=f"o{n}", kind=OFFTOPIC, domain="offtopic", question=f"off-topic {n}?",
                        group=f"request:{n}")
        # Two requests sit among the answerable questions: no line can decline them.
        results.append(_result(case, [_hit("any", 1.0)], 0.62 if n < 2 else 0.3 + (n % 10) / 100))
    report = cross_validate(results, RetrievalSettings(), folds=4)
    assert report["answered_goal"] == ANSWERED_GOAL
    misses = report["decline_misses"]
    assert {m["question"] for m in misses["offtopic"]} == {"off-topic 0?", "off-topic 1?"}
    for miss in misses["offtopic"]:
        assert miss["score"] >= 0 and miss["contributions"]["own"] > 0
    # Answerable questions below the line are listed lowest first: the bias is set to decline a few.
    answerable = [m["score"] for m in misses.get("answerable", [])]
    assert answerable == sorted(answerable) and all(score < 0 for score in answerable)
    header, rows = decline_miss_rows({"cross_validation": report})
    assert header[2] == "question" and {row[0] for row in rows} <= {"answerable", "offtopic"}
    assert any(row[2] == "off-topic 0?" and "own +" in row[4] for row in rows)
