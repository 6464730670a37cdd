"""Every question through the product, as a thread would see it.

Each case gets a fresh conversation whose earlier turns are written into the bot's own memory
(the dataset's user and agent turns, as user and assistant turns; each assistant turn carries the
pages the bot's own answer to the question before it cited and consulted), then the question goes through
SupportBot.answer(): memory, follow-up rewriting, retrieval, the decline rule and the offline
(extractive) answer. A thin wrapper around the retriever keeps what retrieval returned, so
document ranks are measured on exactly the ranking the answer was built from.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from bot.answering.retrieval import GroundingSignals, Retrieval, Retriever
from bot.evaluation.baselines import RANKED_DOCUMENTS, Baseline, BaselineResult
from bot.evaluation.datasets import EvalCase
from bot.service import SupportBot, answer_turn
from bot.types import Answer, Audience, ConversationKey, Inquiry, ThreadPages, Turn

@dataclass
class CaseResult:
    case: EvalCase
    answer: Answer
    ranked_documents: list[str]  # distinct documents in ranking order, best first
    passages: list[tuple[str, str]]  # (document id, chunk text) given to the answerer
    retrieved_documents: set[str]  # documents of those passages
    timings_ms: dict[str, float]
    signals: GroundingSignals | None = None
    baselines: dict[str, BaselineResult] = field(default_factory=dict)
    retrieval: Retrieval | None = None  # the two searches before blending, for cross-validation
    other_language: str | None = None  # the language reply was given (the question's language)

    def to_record(self) -> dict:
        """One line of the per-question file: enough to find and replay a failure."""
        return {
            "id": self.case.id, "kind": self.case.kind, "domain": self.case.domain, "check": self.case.check,
            "language": self.case.language, "other_language": self.other_language,
            "question": self.case.question, "standalone": self.answer.standalone_question,
            "mode": self.answer.mode, "gold_doc_ids": list(self.case.gold_doc_ids),
            "ranked_documents": self.ranked_documents,
            "sources": [s.document_id for s in self.answer.sources],
            "signals": self.signals.__dict__ if self.signals else None,
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
            "baselines": {name: {"ranked_documents": b.ranked_documents, "answered": b.answered}
                          for name, b in self.baselines.items()},
        }


class RecordingRetriever:
    """The bot's retriever, unchanged, remembering its last result for the evaluation."""

    def __init__(self, inner: Retriever) -> None:
        self.inner = inner
        self.index = inner.index
        self.last: Retrieval | None = None

    def retrieve(self, question: str, audience: Audience, vector=None,
                 thread: ThreadPages = ThreadPages()) -> Retrieval:
        self.last = self.inner.retrieve(question, audience, vector, thread=thread)
        return self.last


async def run_cases(bot: SupportBot, cases: list[EvalCase], baselines: list[Baseline],
                    on_case: Callable[[CaseResult], None] | None = None) -> list[CaseResult]:
    """Questions one at a time (latency is measured per stage, so nothing runs beside them), in
    the order given back. A dialogue's earlier questions are asked first: the assistant turns of a
    later question's thread carry what the bot's own answers to them drew on, as in a real thread."""
    recorder = RecordingRetriever(bot.retriever)
    bot.retriever = recorder
    results: dict[int, CaseResult] = {}
    drew_on: dict[tuple[str, ...], Turn] = {}  # a thread up to a question -> the turn its answer left
    try:
        for number in sorted(range(len(cases)), key=lambda n: len(cases[n].history)):
            case = with_pages_drawn_on(cases[number], drew_on)
            result = await _run_case(bot, recorder, case)
            drew_on[thread_key(case.history, case.question)] = answer_turn(result.answer, result.retrieval)
            result.baselines = {baseline.name: baseline.rank(case.question) for baseline in baselines}
            results[number] = result
            if on_case:
                on_case(result)
    finally:
        bot.retriever = recorder.inner
    return [results[number] for number in range(len(cases))]


def thread_key(history: Sequence[Turn], question: str) -> tuple[str, ...]:
    return (*(turn.text for turn in history), question)


def with_pages_drawn_on(case: EvalCase, drew_on: dict[tuple[str, ...], Turn]) -> EvalCase:
    """The case with each assistant turn of its history carrying the pages the bot's answer to the
    question before it cited and consulted (the dataset's agent wrote the text; the bot chose the
    pages)."""
    def pages(place: int, turn: Turn) -> Turn:
        if turn.role != "assistant" or not place or case.history[place - 1].role != "user":
            return turn
        answer = drew_on.get(thread_key(case.history[:place - 1], case.history[place - 1].text))
        return replace(turn, sources=answer.sources, consulted=answer.consulted) if answer else turn

    return replace(case, history=tuple(pages(place, turn) for place, turn in enumerate(case.history)))


async def _run_case(bot: SupportBot, recorder: RecordingRetriever, case: EvalCase) -> CaseResult:
    conversation = ConversationKey("eval", case.domain, f"{case.id}:{uuid.uuid4().hex}")
    if case.history:
        await bot.memory.append(conversation, *case.history)
    recorder.last = None
    started = time.perf_counter()
    answer = await bot.answer(Inquiry(text=case.question, conversation=conversation, user_id="eval"))
    elapsed = (time.perf_counter() - started) * 1000
    retrieval = recorder.last
    hits = retrieval.hits if retrieval else []
    timings = dict(answer.timings_ms)
    timings["retrieval"] = timings.get("embed", 0.0) + timings.get("search", 0.0)
    timings["total"] = elapsed
    await bot.memory.clear(conversation)
    return CaseResult(
        case=case, answer=answer,
        ranked_documents=list(retrieval.top_pages(RANKED_DOCUMENTS)) if retrieval else [],
        passages=[(h.chunk.document_id, h.chunk.text) for h in hits],
        retrieved_documents={h.chunk.document_id for h in hits},
        timings_ms=timings, signals=retrieval.signals if retrieval else None, retrieval=retrieval,
        other_language=bot.languages.unserved_language(case.question) if answer.mode == "declined" else None,
    )
