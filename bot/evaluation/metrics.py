"""The figures: ranks of the gold document, gold-passage coverage, decisions, citation validity
and latency percentiles. Pure functions, so every figure can be checked by hand."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence

_MARKER = re.compile(r"\[(\d+)\]")
_SPACE = re.compile(r"\s+")


def gold_rank(ranked_doc_ids: Sequence[str], gold: Iterable[str]) -> int | None:
    """1-based rank of the first gold document, or None if it was not retrieved."""
    gold = set(gold)
    return next((i for i, doc in enumerate(ranked_doc_ids, 1) if doc in gold), None)


def unique_in_order(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def ranking_summary(ranks: Sequence[int | None]) -> dict[str, float]:
    n = max(len(ranks), 1)
    return {
        "top1": sum(1 for r in ranks if r is not None and r <= 1) / n,
        "top5": sum(1 for r in ranks if r is not None and r <= 5) / n,
        "top10": sum(1 for r in ranks if r is not None and r <= 10) / n,
        "mrr": sum(1 / r for r in ranks if r is not None) / n,
    }


def _squash(text: str) -> str:
    return _SPACE.sub(" ", text).strip().casefold()


def passage_coverage(gold_spans: Sequence[str], retrieved_texts: Sequence[str]) -> float:
    """Share of the gold passage's characters (span by span) found inside the retrieved chunks."""
    spans = [_squash(s) for s in gold_spans if s.strip()]
    if not spans:
        return 0.0
    haystack = "\n".join(_squash(t) for t in retrieved_texts)
    return sum(len(s) for s in spans if s in haystack) / sum(len(s) for s in spans)


def citations_valid(text: str, source_numbers: Iterable[int]) -> bool:
    """Every [n] in the answer names one of its sources."""
    numbers = set(source_numbers)
    return all(int(n) in numbers for n in _MARKER.findall(text))


def percentile(values: Sequence[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))
    return ordered[index]


def latency_summary(values: Sequence[float]) -> dict[str, float]:
    return {"p50": percentile(values, 0.5), "p95": percentile(values, 0.95)}


def share(flags: Sequence[bool]) -> float:
    return sum(flags) / len(flags) if flags else 0.0
