"""Turns outcomes into the report: nested JSON (the interface other scripts read), Markdown for
people, and the rows of the terminal table."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from bot.evaluation.metrics import latency_summary, ranking_summary, share
from bot.evaluation.runner import BASELINES, Outcome

STAGES = ("rewrite", "embed", "search", "answer")


def summarise(outcomes: Sequence[Outcome]) -> dict:
    answerable = [o for o in outcomes if o.question.answerable]
    unanswerable = [o for o in outcomes if not o.question.answerable and o.question.domain != "offtopic"]
    offtopic = [o for o in outcomes if o.question.domain == "offtopic"]
    report = {
        "answerable": {"count": len(answerable), **ranking_summary([o.rank for o in answerable]),
                       "passage_coverage": _mean([o.coverage for o in answerable]),
                       "answered_rate": share([o.answered for o in answerable])},
        "unanswerable": {"count": len(unanswerable), "declined_rate": share([not o.answered for o in unanswerable])},
        "offtopic": {"count": len(offtopic), "declined_rate": share([not o.answered for o in offtopic])},
        "citation_validity": share([o.citations_valid for o in outcomes]) if outcomes else 1.0,
        "latency_ms": _latency(outcomes),
        "baselines": {name: ranking_summary([o.baseline_ranks.get(name) for o in answerable])
                      for name in BASELINES},
    }
    by_domain: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in answerable + unanswerable:
        by_domain[outcome.question.domain].append(outcome)
    report["domains"] = {domain: _domain(items) for domain, items in sorted(by_domain.items())}
    return report


def _domain(items: list[Outcome]) -> dict:
    answerable = [o for o in items if o.question.answerable]
    return {"answerable": len(answerable), "unanswerable": len(items) - len(answerable),
            **ranking_summary([o.rank for o in answerable]),
            "answered_rate": share([o.answered for o in answerable]),
            "declined_rate_unanswerable": share([not o.answered for o in items if not o.question.answerable]),
            **{f"{name}.top5": ranking_summary([o.baseline_ranks.get(name) for o in answerable])["top5"]
               for name in BASELINES}}


def _latency(outcomes: Sequence[Outcome]) -> dict:
    timed = [o.timings_ms for o in outcomes]
    figures = {stage: latency_summary([t[stage] for t in timed if stage in t]) for stage in STAGES}
    figures["retrieval"] = latency_summary([t["embed"] + t["search"] for t in timed
                                            if "embed" in t and "search" in t])
    return figures


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def table_rows(report: dict) -> list[tuple[str, str, str, str]]:
    """(metric, product, BM25 last message, dense last message) for the headline figures."""
    answerable, baselines = report["answerable"], report["baselines"]
    rows = [(f"gold doc in top {k}", _pct(answerable[f"top{k}"]),
             _pct(baselines["bm25_last_message"][f"top{k}"]), _pct(baselines["dense_last_message"][f"top{k}"]))
            for k in (1, 5, 10)]
    rows.append(("MRR", f"{answerable['mrr']:.3f}", f"{baselines['bm25_last_message']['mrr']:.3f}",
                 f"{baselines['dense_last_message']['mrr']:.3f}"))
    rows += [("gold passage covered", _pct(answerable["passage_coverage"]), "", ""),
             ("answerable answered", _pct(answerable["answered_rate"]), "", ""),
             ("unanswerable declined", _pct(report["unanswerable"]["declined_rate"]), "", ""),
             ("off-topic declined", _pct(report["offtopic"]["declined_rate"]), "", ""),
             ("citation validity", _pct(report["citation_validity"]), "", "")]
    latency = report["latency_ms"]
    rows += [(f"{stage} ms p50 / p95", f"{latency[stage]['p50']:.1f} / {latency[stage]['p95']:.1f}", "", "")
             for stage in ("retrieval", *STAGES)]
    return rows


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def markdown(report: dict, header: str) -> str:
    lines = [f"# supportbot eval\n\n{header}\n", "| metric | supportbot | BM25, last message | dense, last message |",
             "|---|---|---|---|"]
    lines += [f"| {' | '.join(row)} |" for row in table_rows(report)]
    lines += ["", "## Per domain (answerable: gold doc in top 5)", "",
              "| domain | questions | supportbot | BM25 | dense | answerable answered | unanswerable declined |",
              "|---|---|---|---|---|---|---|"]
    for domain, figures in report["domains"].items():
        ranked = [_pct(figures[key]) if figures["answerable"] else "–" for key in
                  ("top5", "bm25_last_message.top5", "dense_last_message.top5", "answered_rate")]
        declined = _pct(figures["declined_rate_unanswerable"]) if figures["unanswerable"] else "–"
        lines.append(f"| {domain} | {figures['answerable'] + figures['unanswerable']} | {' | '.join(ranked)} | {declined} |")
    return "\n".join(lines) + "\n"
