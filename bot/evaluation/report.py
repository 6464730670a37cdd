"""The evaluation report: one dict, written as JSON and Markdown and shown as a rich table.

Every figure of the product stands beside the same figure of each baseline where the baseline
has one. Rates are 0..1; latencies are milliseconds.
"""

from __future__ import annotations

import json
from pathlib import Path

from rich.table import Table

# (label, path in the report, path in a baseline's entry or None)
ROWS: list[tuple[str, str, str | None]] = [
    ("gold document in top 1", "answerable.top1", "top1"),
    ("gold document in top 5", "answerable.top5", "top5"),
    ("gold document in top 10", "answerable.top10", "top10"),
    ("MRR", "answerable.mrr", "mrr"),
    ("gold web page in top 1 (sections sharing a title count)", "answerable.page_top1", None),
    ("gold web page in top 5 (sections sharing a title count)", "answerable.page_top5", None),
    ("gold passage covered (its words, from any page)", "answerable.passage_coverage", None),
    ("gold passage covered (by passages of the gold page)", "answerable.passage_coverage_same_page", None),
    ("answerable answered", "answerable.answered_rate", "answered_rate"),
    ("unanswerable declined", "unanswerable.declined_rate", "unanswerable_declined_rate"),
    ("off-topic declined", "offtopic.declined_rate", "offtopic_declined_rate"),
    ("unanswerable + off-topic declined", "unanswerable_and_offtopic.declined_rate",
     "unanswerable_and_offtopic_declined_rate"),
    ("citation validity", "citation_validity", None),
    ("retrieval p50 (ms)", "latency_ms.retrieval.p50", "latency_ms.retrieval.p50"),
    ("retrieval p95 (ms)", "latency_ms.retrieval.p95", "latency_ms.retrieval.p95"),
]
DOMAIN_COLUMNS = ("n", "top1", "top5", "mrr", "answered_rate", "declined_rate")
PRODUCT = "supportbot"


def lookup(data: dict, path: str):
    for part in path.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def fmt(value, path: str = "") -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.1f}" if "ms" in path else f"{value:.3f}"
    return str(value)


def comparison_rows(report: dict) -> tuple[list[str], list[list[str]]]:
    names = list(report.get("baselines", {}))
    header = ["metric", PRODUCT, *names]
    rows = []
    for label, path, baseline_path in ROWS:
        row = [label, fmt(lookup(report, path), path)]
        for name in names:
            value = lookup(report["baselines"][name], baseline_path) if baseline_path else None
            row.append(fmt(value, baseline_path or ""))
        rows.append(row)
    return header, rows


def domain_rows(report: dict) -> tuple[list[str], list[list[str]]]:
    names = list(report.get("baselines", {}))
    header = ["domain", *DOMAIN_COLUMNS, *(f"{name} top5" for name in names)]
    rows = []
    for domain, entry in report.get("per_domain", {}).items():
        rows.append([domain, *(fmt(entry.get(column)) for column in DOMAIN_COLUMNS),
                     *(fmt(lookup(entry, f"baselines.{name}.top5")) for name in names)])
    return header, rows


def latency_rows(report: dict) -> tuple[list[str], list[list[str]]]:
    rows = [[stage, fmt(values.get("p50"), "ms"), fmt(values.get("p95"), "ms")]
            for stage, values in report.get("latency_ms", {}).items()]
    return ["stage", "p50 ms", "p95 ms"], rows


CV_LABELS = {"top1": "gold document in top 1", "top5": "gold document in top 5",
             "answered_rate": "answerable answered", "unanswerable_declined_rate": "unanswerable declined",
             "offtopic_declined_rate": "off-topic declined",
             "model.answered_rate": "decline model: answerable answered",
             "model.unanswerable_declined_rate": "decline model: unanswerable declined",
             "model.offtopic_declined_rate": "decline model: off-topic declined",
             "configured_thread_rule.model.answered_rate": "decline model, configured thread rule: answerable answered",
             "configured_thread_rule.model.unanswerable_declined_rate":
                 "decline model, configured thread rule: unanswerable declined",
             "configured_thread_rule.model.offtopic_declined_rate":
                 "decline model, configured thread rule: off-topic declined",
             "blend.top1": "configured blend: gold document in top 1",
             "rerank.top1": "re-ranker: gold document in top 1",
             "blend.top5": "configured blend: gold document in top 5",
             "rerank.top5": "re-ranker: gold document in top 5",
             "blend.coverage": "configured blend: gold passage covered",
             "rerank.coverage": "re-ranker: gold passage covered"}


def cross_validation_rows(report: dict) -> tuple[list[str], list[list[str]]]:
    summary = lookup(report, "cross_validation.summary") or {}
    keys = [k for k in CV_LABELS if k in summary] + sorted(k for k in summary if k not in CV_LABELS)
    rows = [[CV_LABELS.get(key, _cv_label(key)),
             *(fmt(summary[key][stat]) for stat in ("mean", "min", "max", "std"))] for key in keys]
    return ["held-out figure", "mean", "min", "max", "std"], rows


def _cv_label(key: str) -> str:
    scope, _, rest = key.rpartition("top")
    label = {"blend.": "configured blend: ", "rerank.": "re-ranker: "}.get(scope, scope)
    return label + rest.replace("1.", "top 1, ").replace("5.", "top 5, ")


def rerank_model_rows(report: dict) -> tuple[list[str], list[list[str]]]:
    """The re-ranker's weights per feature: fitted on all questions and the range over folds."""
    return _fitted_weight_rows(report, "rerank_model", "feature")


def new_question_rerank_model_rows(report: dict) -> tuple[list[str], list[list[str]]]:
    """The new-question re-ranker's weights, as rerank_model_rows gives the main one's."""
    return _fitted_weight_rows(report, "new_question_rerank_model", "feature")


def decline_model_rows(report: dict) -> tuple[list[str], list[list[str]]]:
    """The decline model's weights per signal: fitted on all questions and the range over folds."""
    return _fitted_weight_rows(report, "decline_model", "signal")


def _fitted_weight_rows(report: dict, model: str, term: str) -> tuple[list[str], list[list[str]]]:
    on_all = lookup(report, f"cross_validation.{model}_on_all") or {}
    folds = lookup(report, f"cross_validation.{model}s") or []
    rows = [[name, f"{weight:+.3f}",
             f"{min(f[name] for f in folds):+.3f} .. {max(f[name] for f in folds):+.3f}" if folds else "–"]
            for name, weight in on_all.items()]
    return [term, "weight (all questions)", "weight range over folds"], rows


def decline_miss_rows(report: dict) -> tuple[list[str], list[list[str]]]:
    misses = lookup(report, "cross_validation.decline_misses") or {}
    rows = []
    for kind, found in misses.items():
        for miss in found:
            parts = ", ".join(f"{name} {value:+.2f}" for name, value in miss["contributions"].items())
            rows.append([kind, miss["domain"], _cell(miss["question"]), f"{miss['score']:+.2f}", parts])
    return ["kind", "domain", "question", "score", "signals' contributions"], rows


def _cell(text: str, limit: int = 90) -> str:
    """One table cell: one line, no column breaks, long questions cut."""
    flat = " ".join(text.split()).replace("|", "/")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _goal(report: dict) -> str:
    goal = lookup(report, "cross_validation.answered_goal")
    return f"{goal:.1%}" if goal else "the goal share"


def check_rows(report: dict) -> tuple[list[str], list[list[str]]]:
    rows = []
    for name, entry in (report.get("checks") or {}).items():
        rows.append([name.replace("language.", "language: "), fmt(entry.get("n")), fmt(entry.get("top5")),
                     fmt(entry.get("answered_rate")), fmt(entry.get("declined_rate")),
                     fmt(entry.get("told_which_languages_rate"))])
    return ["check", "n", "top5", "answered", "declined", "told which languages"], rows


def paraphrase_rows(report: dict) -> tuple[list[str], list[list[str]]]:
    rows = []
    for scope, path in (("all", "paraphrase_cache"), ("first messages", "paraphrase_cache.first_messages")):
        for row in lookup(report, f"{path}.sweep") or []:
            rows.append([scope, fmt(row["threshold"]), f"{row['false_hit_rate']:.5f}",
                         fmt(row["questions_with_a_false_hit"]), fmt(row["hit_rate_same_passage"])])
    return ["questions", "threshold", "false-hit rate (pairs)", "questions with a false hit",
            "same-passage hit rate"], rows


def sections(report: dict) -> list[tuple[str, tuple[list[str], list[list[str]]], str]]:
    """(title, (header, rows), note) of every table, in the order both renderings show them."""
    chosen = "; ".join(str(c) for c in lookup(report, "cross_validation.chosen") or [])
    return [
        ("Quality beside the baselines", comparison_rows(report), ""),
        ("Per domain", domain_rows(report), ""),
        (_cv_title(report), cross_validation_rows(report), f"Settings each fold's tuning chose: {chosen}."),
        ("Decline model (answer when bias + sum of weight x signal >= 0)", decline_model_rows(report),
         "Signals of the message's own search: own = best passage's cosine; keyword = log(1 + best BM25 "
         "per query word); margin = best page's cosine minus the next page's; methods_agree = 1 when "
         "meaning and keyword search put the same page first; passage_words / page_words = share of the "
         "question's keywords that one passage (with its title) / one page's passages hold. Weights fitted on first messages, the "
         f"bias so that {_goal(report)} of the tuning questions that can be answered are (with the thread rule)."),
        ("Decline model's held-out mistakes (furthest on the wrong side first)", decline_miss_rows(report),
         "Declinable questions the fold's model answered (highest score first) and answerable first messages it "
         "declined (lowest first), with what each signal added to the score; the bias is the rest."),
        ("Re-ranker (candidates ordered by sum of weight x feature)", rerank_model_rows(report),
         "Features of each candidate passage from the two searches (bot/answering/reranking.py): blend = "
         "the configured blend and page support score (weight includes the fixed anchor); own_/context_ = "
         "that search's fused score, cosine, BM25 over its best, and cosine below its best; page_ = the "
         "page's best and second-best fused scores and log(1 + its passages found); title_/text_ = share of "
         "the message's (thread's) keywords in the page title or passage; follow_up_ = the same, for replies. "
         "Fitted listwise on the tuning folds' answerable questions toward the passages holding the answer. "
         "It orders first messages and replies."),
        ("Re-ranker for a new question in a thread (the message's own search only)",
         new_question_rerank_model_rows(report),
         "The same fit over the blend and the own-search features alone: a message in a thread that reads as "
         "a new question is ordered on its own words, so a new topic is not pulled back to the thread's pages."),
        ("Thread checks and languages", check_rows(report),
         "`new_topic`: a dialogue's first question asked in another dialogue's thread; `offtopic_in_thread`: "
         "an off-topic request asked in a dev thread; `language: xx`: dev questions translated into xx."),
        (_paraphrase_title(report), paraphrase_rows(report), ""),
        ("Latency per stage (ms, offline answerer)", latency_rows(report), ""),
    ]


def rich_tables(report: dict) -> list[Table]:
    tables = []
    for title, (header, rows), _ in sections(report):
        if not rows:
            continue
        table = Table(title=title)
        for number, column in enumerate(header):
            table.add_column(column, justify="left" if number == 0 else "right")
        for row in rows:
            table.add_row(*row)
        tables.append(table)
    return tables


def _cv_title(report: dict) -> str:
    cv = report.get("cross_validation") or {}
    return (f"Cross-validation: {cv.get('folds')} folds ({cv.get('grouping')}); settings fitted on the "
            "other folds, figures on the held-out one")


def _paraphrase_title(report: dict) -> str:
    cache = report.get("paraphrase_cache") or {}
    configured = cache.get("configured", {}).get("threshold")
    safe = {scope: lookup(report, f"{path}.safe_threshold") or "none swept"
            for scope, path in (("all", "paraphrase_cache"), ("first", "paraphrase_cache.first_messages"))}
    return (f"Paraphrase cache over {cache.get('questions')} answerable questions (configured threshold "
            f"{configured}; safe for every question: {safe['all']}, for first messages: {safe['first']})")


def _markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def markdown(report: dict) -> str:
    meta = report["meta"]
    counts = ", ".join(f"{kind} {report[kind]['n']}" for kind in ("answerable", "unanswerable", "offtopic"))
    baselines = "; ".join(f"`{name}`: {entry['description']}" for name, entry in report["baselines"].items())
    parts = [
        "# supportbot evaluation",
        "",
        f"- Knowledge base: {meta['corpus_note']}; {meta['chunks']} chunks, indexed by the product's "
        f"pipeline into `{meta['data_dir']}`.",
        f"- Questions: {meta['questions']} and {meta['offtopic']}"
        + (f" (subset `{meta['subset']}`)" if meta["subset"] else "") + f": {counts}.",
        "- Each question's earlier turns go through the bot's thread memory and follow-up rewriting; "
        "answers are the offline (extractive) ones; the answer cache is off.",
        f"- Baselines on the same index: {baselines}.",
        f"- Settings: {meta['settings']}.",
        f"- Run: {meta['started']}, {meta['seconds']:.0f} s.",
        "",
    ]
    for title, (header, rows), note in sections(report):
        if rows:
            parts += [f"## {title}", "", _markdown_table(header, rows), ""] + ([note, ""] if note else [])
    return "\n".join(parts)


def write_reports(report: dict, json_path: Path, cases: list[dict] | None = None) -> list[Path]:
    """The JSON report, its Markdown twin beside it, and one line per question (.cases.jsonl)."""
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    markdown_path = json_path.with_suffix(".md")
    markdown_path.write_text(markdown(report), encoding="utf-8")
    written = [json_path, markdown_path]
    if cases is not None:
        cases_path = json_path.with_suffix(".cases.jsonl")
        cases_path.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases), encoding="utf-8")
        written.append(cases_path)
    return written
