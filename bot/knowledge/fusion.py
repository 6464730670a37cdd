"""Hybrid ranking: relative score fusion, as Weaviate's relativeScoreFusion computes it.

Each result list is min-max normalised to 0..1 on its own, then the vector side is weighted by
alpha and the keyword side by 1 - alpha; an item found by only one search keeps that share.
One function, so the local store, the Weaviate fake and any baseline rank the same way.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping


def normalise(scores: Mapping[Hashable, float]) -> dict[Hashable, float]:
    if not scores:
        return {}
    low, high = min(scores.values()), max(scores.values())
    if high == low:
        return {key: 1.0 for key in scores}
    return {key: (value - low) / (high - low) for key, value in scores.items()}


def relative_score_fusion(
    keyword: Mapping[Hashable, float], vector: Mapping[Hashable, float], alpha: float
) -> list[tuple[Hashable, float]]:
    """Fused (key, score) pairs, best first; ties keep the vector order."""
    fused: dict[Hashable, float] = {}
    for key, value in normalise(vector).items():
        fused[key] = alpha * value
    for key, value in normalise(keyword).items():
        fused[key] = fused.get(key, 0.0) + (1.0 - alpha) * value
    return sorted(fused.items(), key=lambda item: item[1], reverse=True)
