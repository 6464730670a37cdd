"""One evaluation run from files to a report: the Python entry behind `supportbot eval`."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from langchain_core.embeddings import Embeddings

from bot.evaluation.baselines import standard_baselines
from bot.evaluation.corpus import prepare_corpus, read_corpus
from bot.evaluation.datasets import EvalCase, load_offtopic, load_questions, select_subset
from bot.evaluation.folds import DEFAULT_FOLDS, cross_validate
from bot.evaluation.metrics import summarise
from bot.evaluation.paraphrase import paraphrase_figures
from bot.evaluation.runner import CaseResult, run_cases
from bot.evaluation.threads import thread_checks
from bot.settings import Settings

# The dev sets ship with the checkout (eval/data, with their licences and sources), so the defaults
# work from any working directory of a clone.
DATA = Path(__file__).resolve().parents[2] / "eval" / "data"
DEFAULT_CORPUS = DATA / "doc2dial" / "corpus.jsonl"
DEFAULT_QUESTIONS = DATA / "doc2dial" / "questions_dev.jsonl"
DEFAULT_OFFTOPIC = DATA / "clinc150_oos" / "oos_dev.jsonl"
DEFAULT_MULTILINGUAL = DATA / "multilingual" / "questions.jsonl"
THREAD_CHECKS = {None: 200, "small": 60}  # cases of each thread check, by subset
# on_progress(stage, done, total): the indexer's stages, then "ask" once per question.
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class EvalRequest:
    corpus: Path = DEFAULT_CORPUS
    questions: Path = DEFAULT_QUESTIONS
    offtopic: Path | None = DEFAULT_OFFTOPIC
    subset: str | None = None
    multilingual: Path | None = DEFAULT_MULTILINGUAL
    folds: int = DEFAULT_FOLDS  # cross-validation folds; 0 or 1: none


async def run_evaluation(settings: Settings, request: EvalRequest, *, embeddings: Embeddings | None = None,
                         on_progress: Progress | None = None) -> tuple[dict, list[CaseResult]]:
    """Index the corpus (incrementally), ask every question; the report and per-question results."""
    from bot.wiring import build_bot  # loads the embedding model

    progress = on_progress or (lambda stage, done, total: None)
    started = time.perf_counter()
    cases = load_questions(request.questions)
    if request.offtopic:
        cases += load_offtopic(request.offtopic)
    cases = select_subset(cases, request.subset)
    cases += thread_checks(cases, THREAD_CHECKS.get(request.subset, THREAD_CHECKS[None]))
    cases += _multilingual(request)
    corpus, eval_settings = prepare_corpus(settings, request.corpus, cases, restrict=request.subset == "small")
    bot = build_bot(eval_settings, embeddings=embeddings, answerer=None, long_running=False)
    summary = bot.reindex(on_progress=progress)
    baselines = standard_baselines(bot.index, bot.embeddings, eval_settings.retrieval)
    asked = 0

    def on_case(_result) -> None:
        nonlocal asked
        asked += 1
        progress("ask", asked, len(cases))

    progress("ask", 0, len(cases))
    results = await run_cases(bot, cases, baselines, on_case)
    report = summarise(results, corpus.texts, corpus.titles)
    progress("cross-validate", 0, 1)
    dev = [r for r in results if not r.case.check]
    if request.folds > 1:
        report["cross_validation"] = cross_validate(dev, eval_settings.retrieval, request.folds, corpus.texts)
    report["paraphrase_cache"] = paraphrase_figures(dev, bot.embeddings, settings.cache.semantic_min_similarity,
                                                    corpus.texts)
    progress("cross-validate", 1, 1)
    report["baselines"] = {b.name: {"description": b.description, **report["baselines"][b.name]}
                           for b in baselines}
    report["meta"] = {
        "corpus": str(request.corpus), "corpus_note": corpus.note, "indexed_file": str(corpus.path),
        "documents": len(corpus.texts), "chunks": bot.index.count(), "data_dir": str(eval_settings.data_dir),
        "questions": str(request.questions), "offtopic": str(request.offtopic) if request.offtopic else None,
        "multilingual": str(request.multilingual) if request.multilingual else None,
        "subset": request.subset, "index": summary.to_dict(),
        "settings": _settings_line(eval_settings),
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "seconds": time.perf_counter() - started,
    }
    return report, results


def _multilingual(request: EvalRequest) -> list[EvalCase]:
    """The translated questions, when they belong to the corpus being evaluated."""
    if not request.multilingual or not request.multilingual.is_file():
        return []
    cases = load_questions(request.multilingual, check="language")
    known = read_corpus(request.corpus).keys()
    return [case for case in cases if set(case.gold_doc_ids) <= known]


def _settings_line(settings: Settings) -> str:
    r, c = settings.retrieval, settings.chunking
    return (f"chunks {c.chunk_size}/{c.chunk_overlap} chars, top_k {r.top_k}, candidates {r.candidates}, "
            f"alpha {r.alpha}, min_similarity {r.min_similarity}, min_agreement {r.min_agreement}, "
            f"question weight {r.follow_up_question_weight} (follow-up) / {r.new_question_weight} (new), "
            f"document support {r.document_support_weight}, "
            f"decline {'model over ' + str(len(r.decline_model) - 1) + ' signals' if r.decline_model else 'rule'}, "
            f"embeddings {settings.embeddings.provider}")
