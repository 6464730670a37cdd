"""From per-question results to figures: retrieval, decisions, citations and latency.

Retrieval figures are over answerable questions: the gold document's rank among the distinct
documents of the ranking (top 1, 5, 10, MRR), and the share of the gold passage's characters
that the passages given to the answerer cover. Decisions: answerable questions answered,
unanswerable and off-topic ones declined. A citation is valid when every [n] in the answer names
a listed source, every source is cited, and every source is a document that was retrieved.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np

from bot.evaluation.datasets import ANSWERABLE, OFFTOPIC, UNANSWERABLE
from bot.evaluation.runner import CaseResult

STAGES = ("rewrite", "embed", "search", "retrieval", "answer", "total")
_MARKER = re.compile(r"\[(\d+)\]")


def gold_rank(ranked_documents: list[str], gold: Iterable[str]) -> int | None:
    gold = set(gold)
    return next((rank for rank, doc in enumerate(ranked_documents, start=1) if doc in gold), None)


def ranking_figures(ranks: list[int | None]) -> dict[str, float | int]:
    n = len(ranks)
    if not n:
        return {"n": 0}
    hit = lambda depth: sum(1 for r in ranks if r is not None and r <= depth) / n  # noqa: E731
    return {"n": n, "top1": hit(1), "top5": hit(5), "top10": hit(10),
            "mrr": sum(1 / r for r in ranks if r is not None) / n}


def rate(flags: list[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None}
    return {"p50": float(np.percentile(values, 50)), "p95": float(np.percentile(values, 95))}


def citations_valid(result: CaseResult) -> bool:
    answer = result.answer
    cited = {int(n) for n in _MARKER.findall(answer.text)}
    listed = {source.number for source in answer.sources}
    retrieved = all(source.document_id in result.retrieved_documents for source in answer.sources)
    return bool(cited) and cited == listed and retrieved


def answered(result: CaseResult) -> bool:
    return result.answer.mode in ("generated", "extractive")


class PassageLocator:
    """Where a retrieved chunk sits in its document's text (chunks are slices of it)."""

    def __init__(self, texts: dict[str, str]) -> None:
        self.texts = texts
        self._found: dict[tuple[str, str], tuple[int, int] | None] = {}

    def span(self, document_id: str, chunk_text: str) -> tuple[int, int] | None:
        key = (document_id, chunk_text)
        if key not in self._found:
            text = self.texts.get(document_id, "")
            start = text.find(chunk_text)
            self._found[key] = (start, start + len(chunk_text)) if start >= 0 else _loose_span(text, chunk_text)
        return self._found[key]

    def coverage(self, result: CaseResult, same_page: bool = False) -> float | None:
        """The share of the gold passage's characters whose words the answerer was given.

        A passage from a near-identical version of the gold page (doc2dial has such pages) gives
        the same words and counts, unless `same_page` asks for passages of the gold page only.
        """
        case = result.case
        if not case.gold_char_span or not case.gold_doc_ids:
            return None
        start, end = case.gold_char_span
        gold = case.gold_doc_ids[0]
        covered = np.zeros(max(end - start, 0), dtype=bool)
        for document_id, chunk_text in result.passages:
            if same_page and document_id not in case.gold_doc_ids:
                continue
            if span := self.span(gold if document_id not in case.gold_doc_ids else document_id, chunk_text):
                covered[max(span[0] - start, 0): max(min(span[1], end) - start, 0)] = True
        return float(covered.mean()) if len(covered) else None


def _loose_span(text: str, chunk_text: str) -> tuple[int, int] | None:
    """The chunk's place when whitespace differs (a splitter may trim or join lines)."""
    words = chunk_text.split()
    if not words:
        return None
    pattern = r"\s+".join(re.escape(word) for word in words)
    match = re.search(pattern, text)
    return (match.start(), match.end()) if match else None


def summarise(results: list[CaseResult], texts: dict[str, str], titles: dict[str, str] | None = None) -> dict:
    """The dev figures (the extra checks apart, under "checks"); citations of every answer.

    With `titles`, also the rank of the gold *web page*: doc2dial splits some pages into sections
    that share a title and most of their text (62 of the 77 Social Security documents), and the
    strict figures count a sibling section as a miss.
    """
    locator = PassageLocator(texts)
    everything, results = results, [r for r in results if not r.case.check]
    by_kind = {kind: [r for r in results if r.case.kind == kind] for kind in (ANSWERABLE, UNANSWERABLE, OFFTOPIC)}
    declinable = by_kind[UNANSWERABLE] + by_kind[OFFTOPIC]
    answers = [r for r in everything if answered(r)]
    baseline_names = list(results[0].baselines) if results else []
    figures = {
        "answerable": _answerable_figures(by_kind[ANSWERABLE], locator, titles),
        "unanswerable": {"n": len(by_kind[UNANSWERABLE]),
                         "declined_rate": rate([not answered(r) for r in by_kind[UNANSWERABLE]])},
        "offtopic": {"n": len(by_kind[OFFTOPIC]),
                     "declined_rate": rate([not answered(r) for r in by_kind[OFFTOPIC]])},
        "unanswerable_and_offtopic": {"n": len(declinable),
                                      "declined_rate": rate([not answered(r) for r in declinable])},
        "citation_validity": rate([citations_valid(r) for r in answers]),
        "answers_checked_for_citations": len(answers),
        "latency_ms": {stage: percentiles([r.timings_ms[stage] for r in results if stage in r.timings_ms])
                       for stage in STAGES},
        "baselines": {name: _baseline_figures(results, name) for name in baseline_names},
        "per_domain": {},
        "checks": check_figures(everything),
    }
    for domain in sorted({r.case.domain for r in results}):
        subset = [r for r in results if r.case.domain == domain]
        entry: dict = {"n": len(subset)}
        answerable = [r for r in subset if r.case.kind == ANSWERABLE]
        if answerable:
            entry.update(_answerable_figures(answerable, locator, titles))
        if len(answerable) < len(subset):
            entry["declined_rate"] = rate([not answered(r) for r in subset if r.case.kind != ANSWERABLE])
        entry["baselines"] = {name: _baseline_figures(subset, name) for name in baseline_names}
        figures["per_domain"][domain] = entry
    return figures


def check_figures(results: list[CaseResult]) -> dict:
    """Thread checks (threads.py) and the multilingual set, each on its own."""
    figures: dict = {}
    for check in sorted({r.case.check for r in results if r.case.check and r.case.check != "language"}):
        of_check = [r for r in results if r.case.check == check]
        answerable = [r for r in of_check if r.case.kind == ANSWERABLE]
        entry: dict = {"n": len(of_check)}
        if answerable:
            entry.update(ranking_figures([gold_rank(r.ranked_documents, r.case.gold_doc_ids) for r in answerable]))
            entry["answered_rate"] = rate([answered(r) for r in answerable])
        else:
            entry["declined_rate"] = rate([not answered(r) for r in of_check])
        figures[check] = entry
    languages = [r for r in results if r.case.check == "language"]
    for language in sorted({r.case.language for r in languages}):
        of_language = [r for r in languages if r.case.language == language]
        entry = ranking_figures([gold_rank(r.ranked_documents, r.case.gold_doc_ids) for r in of_language])
        entry["answered_rate"] = rate([answered(r) for r in of_language])
        entry["told_which_languages_rate"] = rate([r.other_language is not None for r in of_language])
        figures[f"language.{language}"] = entry
    return figures


def page_rank(ranked_documents: list[str], gold: Iterable[str], titles: dict[str, str]) -> int | None:
    pages = list(dict.fromkeys(titles.get(d, d) for d in ranked_documents))
    return gold_rank(pages, {titles.get(d, d) for d in gold})


def _answerable_figures(results: list[CaseResult], locator: PassageLocator,
                        titles: dict[str, str] | None = None) -> dict:
    figures = ranking_figures([gold_rank(r.ranked_documents, r.case.gold_doc_ids) for r in results])
    if titles:
        pages = ranking_figures([page_rank(r.ranked_documents, r.case.gold_doc_ids, titles) for r in results])
        figures.update({"page_top1": pages.get("top1"), "page_top5": pages.get("top5")})
    coverages = [c for r in results if (c := locator.coverage(r)) is not None]
    figures["passage_coverage"] = float(np.mean(coverages)) if coverages else None
    strict = [c for r in results if (c := locator.coverage(r, same_page=True)) is not None]
    figures["passage_coverage_same_page"] = float(np.mean(strict)) if strict else None
    figures["answered_rate"] = rate([answered(r) for r in results])
    return figures


def _baseline_figures(results: list[CaseResult], name: str) -> dict:
    answerable = [r for r in results if r.case.kind == ANSWERABLE]
    figures = ranking_figures([gold_rank(r.baselines[name].ranked_documents, r.case.gold_doc_ids)
                               for r in answerable])
    decided = {kind: [r.baselines[name].answered for r in results if r.case.kind == kind
                      and r.baselines[name].answered is not None] for kind in (ANSWERABLE, UNANSWERABLE, OFFTOPIC)}
    figures["answered_rate"] = rate(decided[ANSWERABLE])
    figures["unanswerable_declined_rate"] = rate([not a for a in decided[UNANSWERABLE]])
    figures["offtopic_declined_rate"] = rate([not a for a in decided[OFFTOPIC]])
    figures["unanswerable_and_offtopic_declined_rate"] = rate(
        [not a for a in decided[UNANSWERABLE] + decided[OFFTOPIC]])
    figures["latency_ms"] = {"retrieval": percentiles([r.baselines[name].retrieval_ms for r in results])}
    return figures
