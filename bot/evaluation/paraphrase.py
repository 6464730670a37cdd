"""The paraphrase cache, measured: how often it would serve one question's answer for another.

With ``cache.semantic`` on, a question whose standalone form embeds within
``cache.semantic_min_similarity`` (cosine) of a cached one gets that answer. That is right when
both are grounded in the same passage and wrong otherwise. "The same passage" is the same
stretch of one page, or the same words on two pages (doc2dial keeps near-identical versions of
some pages, and serving their shared text is no error). Over every pair of answerable dev
questions (their standalone forms, as the cache sees them):

- false-hit rate: the share of pairs grounded in different passages that would be served from
  one another; and the share of questions that have at least one such wrong partner (the chance
  that a question gets someone else's answer once its partner is cached);
- hit rate: the share of pairs grounded in the same passage that would be.

Both are given at the configured threshold and over a sweep, with the lowest swept threshold at
which no more than SAFE_QUESTION_SHARE of the questions could get a wrong answer; for every
question, and for first messages alone (no thread context in the standalone form), where a
paraphrase cache is most useful and least risky.
"""

from __future__ import annotations

import numpy as np
from langchain_core.embeddings import Embeddings

from bot.evaluation.datasets import ANSWERABLE
from bot.evaluation.runner import CaseResult
from bot.knowledge.embeddings import embed_texts

SWEEP = (0.85, 0.90, 0.93, 0.95, 0.97, 0.98, 0.99)
SAFE_QUESTION_SHARE = 0.001


def _same_passage(grounded: list[CaseResult], texts: dict[str, str], candidates: np.ndarray) -> np.ndarray:
    """Pairs grounded in one passage: overlapping gold spans of a page, or (among `candidates`,
    the pairs close enough to matter) one gold passage's words inside the other's."""
    docs = np.array([r.case.gold_doc_ids[0] for r in grounded])
    starts = np.array([r.case.gold_char_span[0] for r in grounded])
    ends = np.array([r.case.gold_char_span[1] for r in grounded])
    same = (docs[:, None] == docs[None, :]) & (starts[:, None] < ends[None, :]) & (starts[None, :] < ends[:, None])
    words = [" ".join(texts.get(d, "")[s:e].split()) for d, s, e in zip(docs, starts, ends)]
    for i, j in zip(*np.nonzero(candidates & ~same)):
        if words[i] and words[j] and (words[i] in words[j] or words[j] in words[i]):
            same[i, j] = True
    return same


def paraphrase_figures(results: list[CaseResult], embeddings: Embeddings, threshold: float,
                       texts: dict[str, str] | None = None) -> dict:
    grounded = [r for r in results if r.case.kind == ANSWERABLE and not r.case.check
                and r.case.gold_char_span and r.case.gold_doc_ids]
    if len(grounded) < 2:
        return {}
    vectors = embed_texts(embeddings, [r.answer.standalone_question for r in grounded])
    figures = _pair_figures(grounded, vectors, threshold, texts or {})
    first = [i for i, r in enumerate(grounded) if not r.case.history]
    if len(first) >= 2:
        figures["first_messages"] = _pair_figures([grounded[i] for i in first], vectors[first], threshold,
                                                  texts or {})
    return figures


def _pair_figures(grounded: list[CaseResult], vectors: np.ndarray, threshold: float,
                  texts: dict[str, str]) -> dict:
    similarity = vectors @ vectors.T
    same = _same_passage(grounded, texts, similarity >= min(SWEEP))
    pairs = np.triu(np.ones_like(same), k=1)
    same_pairs, different_pairs = pairs & same, pairs & ~same
    np.fill_diagonal(similarity, -1.0)

    def at(t: float) -> dict:
        close = similarity >= t
        return {
            "threshold": t,
            "false_hit_rate": float((close & different_pairs).sum() / max(different_pairs.sum(), 1)),
            "questions_with_a_false_hit": float((close & ~same).any(axis=1).mean()),
            "hit_rate_same_passage": float((close & same_pairs).sum() / max(same_pairs.sum(), 1)),
        }

    sweep = [at(t) for t in SWEEP]
    safe = next((row["threshold"] for row in sweep if row["questions_with_a_false_hit"] <= SAFE_QUESTION_SHARE),
                None)
    return {"questions": len(grounded), "same_passage_pairs": int(same_pairs.sum()),
            "different_passage_pairs": int(different_pairs.sum()), "configured": at(threshold),
            "sweep": sweep, "safe_threshold": safe, "safe_question_share": SAFE_QUESTION_SHARE}
