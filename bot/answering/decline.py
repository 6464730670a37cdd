"""The decline model: answer or decline from several retrieval signals, weighed by a fitted line.

One cosine threshold cannot tell "How do I renew my licence?" from a CDC question that happens to
share words with a page; several signals together do better: how close the best passage is in
meaning, how many of the question's keywords the best passage holds (BM25 per query word), whether
the meaning search and the keyword search agree on the page, how far the best page stands above
the next, and in a thread the context's similarity and the agreement between the two searches.

The model is a logistic regression fitted by the evaluation (bot/evaluation/folds.py) on
answerable versus unanswerable and off-topic questions, so it stays explainable: the score is
``bias + sum(weight * signal)`` and the bot answers when it is at least 0. The weights live in
config/supportbot.toml ([retrieval.decline_model]); `supportbot eval` prints the weights each
fold chose and what each signal adds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # retrieval.py imports this module to decide
    from bot.answering.retrieval import GroundingSignals

FEATURES = ("own", "context", "agreement", "follow_up", "keyword", "margin", "methods_agree")
RIDGE = 1e-2  # keeps the fit finite when a signal separates the tuning questions perfectly
NEWTON_STEPS = 50


def feature_vector(signals: GroundingSignals) -> np.ndarray:
    """The signals as numbers; outside a thread the context signals repeat the message's own."""
    context = signals.own if signals.context is None else signals.context
    agreement = signals.own if signals.agreement is None else signals.agreement
    return np.array([signals.own, context, agreement, float(signals.follow_up),
                     float(np.log1p(max(signals.keyword, 0.0))), signals.margin,
                     float(signals.methods_agree)], dtype=np.float64)


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


def fit_decline_model(signals: Sequence[GroundingSignals], answerable: Sequence[bool],
                      answered_goal: float) -> dict[str, float]:
    """Weights (on the raw signals) and a bias such that at least `answered_goal` of the
    answerable questions given score >= 0, declining as many of the others as the line allows."""
    features = np.array([feature_vector(s) for s in signals])
    labels = np.asarray(answerable, dtype=np.float64)
    mean, scale = features.mean(axis=0), features.std(axis=0)
    scale[scale == 0] = 1.0
    z = np.c_[(features - mean) / scale, np.ones(len(features))]
    weights = np.zeros(z.shape[1])
    for _ in range(NEWTON_STEPS):  # Newton's method on the ridge-penalised log-likelihood
        p = 1.0 / (1.0 + np.exp(-z @ weights))
        gradient = z.T @ (p - labels) + RIDGE * weights
        hessian = (z * (p * (1 - p))[:, None]).T @ z + RIDGE * np.eye(len(weights))
        weights -= np.linalg.solve(hessian, gradient)
    raw = weights[:-1] / scale
    scores = features @ raw
    # The bias puts the cut where `answered_goal` of the answerable questions still pass.
    answerable_scores = np.sort(scores[labels == 1])
    cut = answerable_scores[int(np.floor((1 - answered_goal) * len(answerable_scores)))] \
        if len(answerable_scores) else 0.0
    # A hair below the cut: the question on it is answered whatever order the sum is taken in.
    return {**{name: float(w) for name, w in zip(FEATURES, raw)}, "bias": float(-cut) + 1e-9}
