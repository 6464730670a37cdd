"""Questions grouped by meaning: average-linkage agglomerative clustering on cosine similarity.

Average linkage merges two groups while their questions are, on average, at least
`min_similarity` alike, so one question in between cannot chain two topics together (single
linkage would) and no group is forced to a fixed count (k-means would need k). A report clusters a
few thousand questions at most, so the plain O(n²) memory, with each row's best partner cached,
is enough; numpy does it without a new dependency.
"""

from __future__ import annotations

import numpy as np

# Tuned on doc2dial first questions grouped by their gold page (bench/gap_clustering.py) and
# checked on CLINC150 off-topic requests of one intent (tests/reporting/test_clustering.py).
DEFAULT_MIN_SIMILARITY = 0.5


def cluster(vectors: np.ndarray, min_similarity: float = DEFAULT_MIN_SIMILARITY) -> list[list[int]]:
    """Groups of row indices, largest first (ties: earliest question first)."""
    n = len(vectors)
    if n == 0:
        return []
    unit = _unit(vectors)
    similarity = (unit @ unit.T).astype(np.float64)
    np.fill_diagonal(similarity, -np.inf)
    members: list[list[int] | None] = [[i] for i in range(n)]
    best = similarity.argmax(axis=1)  # each live group's most similar live partner

    while True:
        row_best = similarity[np.arange(n), best]
        a = int(row_best.argmax())
        if row_best[a] < min_similarity:
            break
        b = int(best[a])
        _merge(similarity, members, a, b)
        best[b] = 0  # b is gone; its row is -inf now
        stale = np.flatnonzero((best == a) | (best == b))
        for row in [a, *stale.tolist()]:
            best[row] = similarity[row].argmax()
    groups = [group for group in members if group]
    return sorted(groups, key=lambda g: (-len(g), g[0]))


def _merge(similarity: np.ndarray, members: list[list[int] | None], a: int, b: int) -> None:
    """Fold group b into group a; a's similarity to every other group becomes the size-weighted
    average of a's and b's (Lance–Williams for average linkage)."""
    size_a, size_b = len(members[a]), len(members[b])  # type: ignore[arg-type]
    merged = (similarity[a] * size_a + similarity[b] * size_b) / (size_a + size_b)
    similarity[a, :] = merged
    similarity[:, a] = merged
    similarity[b, :] = -np.inf
    similarity[:, b] = -np.inf
    similarity[a, a] = -np.inf
    members[a] = members[a] + members[b]  # type: ignore[operator]
    members[b] = None


def centroid(vectors: np.ndarray) -> np.ndarray:
    mean = _unit(vectors).mean(axis=0)
    return mean / max(float(np.linalg.norm(mean)), 1e-12)


def central_order(vectors: np.ndarray) -> list[int]:
    """Row indices from the most typical question of a group (closest to its centroid) outwards."""
    return np.argsort(-(_unit(vectors) @ centroid(vectors)), kind="stable").tolist()


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
