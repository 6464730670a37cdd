"""The decline model: whether a message's own words ground it, from several signals of its search.

One cosine threshold cannot tell "How do I renew my licence?" from a CDC question that happens to
share words with a page; several signals together do better: how close the best passage is in
meaning, how many of the question's keywords the best page holds (BM25 per query word), whether
the meaning search and the keyword search agree on the page, how far the best page stands
above the next, and what share of the question's keywords one passage (passage_words) and one
page's passages (page_words) hold. The last two took held-out declines from 0.83 to 0.93
(unanswerable) and 0.946 to 0.97 (off-topic): a CDC question or a banking request shares a word
or two with some government page, an answerable question most of its words.

The model is a logistic regression fitted by the evaluation (bot/evaluation/folds.py) on
questions asked outside a thread (answerable versus unanswerable and off-topic), so it stays
explainable: the score is ``bias + sum(weight * signal)`` and the message's own words ground it
when the score is at least 0. It replaces only the `min_similarity` test: a message in a thread
may still be grounded by the thread's context under the `min_agreement` rule (retrieval.py). The
thread's signals stay out of the model on purpose: in the dev set every question that should be
declined opens a conversation, so a fitted weight on them would learn "in a thread, answer".
The weights live in config/supportbot.toml ([retrieval.decline_model]); `supportbot eval` prints
the weights each fold chose.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # retrieval.py imports this module to decide
    from bot.answering.retrieval import GroundingSignals

FEATURES = ("own", "keyword", "margin", "methods_agree", "passage_words", "page_words")
RIDGE = 1e-2  # keeps the fit finite when a signal separates the tuning questions perfectly
NEWTON_STEPS = 50


def feature_vector(signals: GroundingSignals) -> np.ndarray:
    return np.array([signals.own, float(np.log1p(max(signals.keyword, 0.0))), signals.margin,
                     float(signals.methods_agree), signals.passage_words, signals.page_words], dtype=np.float64)


def model_answers(model: Mapping[str, float], signals: GroundingSignals) -> bool:
    return decline_score(model, signals) >= 0.0


def decline_score(model: Mapping[str, float], signals: GroundingSignals) -> float:
    values = feature_vector(signals)
    return float(model.get("bias", 0.0) + sum(model.get(name, 0.0) * value
                                              for name, value in zip(FEATURES, values)))


def contributions(model: Mapping[str, float], signals: GroundingSignals) -> dict[str, float]:
    """What each signal added to the score: the explanation of one decision."""
    return {name: round(model.get(name, 0.0) * value, 3)
            for name, value in zip(FEATURES, feature_vector(signals))}


def fit_decline_model(signals: Sequence[GroundingSignals], answerable: Sequence[bool], answered_goal: float,
                      fit_on: Sequence[bool] | None = None,
                      answered_anyway: Sequence[bool] | None = None) -> dict[str, float]:
    """Weights (on the raw signals) and a bias such that at least `answered_goal` of the
    answerable questions are answered, declining as many of the others as the line allows.

    The weights are fitted on the questions marked `fit_on` (default: all); `answered_anyway`
    marks questions answered whatever the model says (grounded by their thread), which count
    toward the goal, so the bias is only as lenient as the rest need.
    """
    count = len(signals)
    fit_on = np.ones(count, bool) if fit_on is None else np.asarray(fit_on, bool)
    anyway = np.zeros(count, bool) if answered_anyway is None else np.asarray(answered_anyway, bool)
    features = np.array([feature_vector(s) for s in signals]).reshape(count, len(FEATURES))
    labels = np.asarray(answerable, dtype=bool)
    raw = _logistic_weights(features[fit_on], labels[fit_on].astype(np.float64))
    scores = features @ raw
    needed = int(np.ceil(answered_goal * labels.sum() - 1e-9)) - int((labels & anyway).sum())
    candidates = np.sort(scores[labels & ~anyway])[::-1]
    # The bias puts the cut at the needed-th best of the answerable questions left to the model;
    # a hair below it, so that question is answered whatever order the sum is taken in.
    cut = candidates[min(needed, len(candidates)) - 1] if needed > 0 and len(candidates) else np.inf
    return {**{name: float(w) for name, w in zip(FEATURES, raw)}, "bias": float(-cut) + 1e-9}


def _logistic_weights(features: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Ridge-penalised logistic regression by Newton's method; weights on the raw features."""
    mean, scale = features.mean(axis=0), features.std(axis=0)
    scale[scale == 0] = 1.0
    z = np.c_[(features - mean) / scale, np.ones(len(features))]
    weights = np.zeros(z.shape[1])
    for _ in range(NEWTON_STEPS):
        p = 1.0 / (1.0 + np.exp(-z @ weights))
        gradient = z.T @ (p - labels) + RIDGE * weights
        hessian = (z * (p * (1 - p))[:, None]).T @ z + RIDGE * np.eye(len(weights))
        weights -= np.linalg.solve(hessian, gradient)
    return weights[:-1] / scale
