"""Runs a question set through the product exactly as threads would, plus the baselines.

The corpus is indexed by the product's own pipeline into its own data directory (reused while
nothing changed). Each dialogue question gets a fresh thread whose earlier turns go through the
product's memory, so follow-ups are rewritten as they would be in Slack or Discord. Answers come
from the offline (extractive) answerer, with the answer cache off so every figure is a real run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bot.answering.retrieval import Retriever
from bot.evaluation.datasets import Question
from bot.evaluation.metrics import citations_valid, gold_rank, passage_coverage, unique_in_order
from bot.knowledge.embeddings import embed_query
from bot.knowledge.index import SearchQuery
from bot.settings import KnowledgeSource, RateLimitSettings, Settings
from bot.types import Audience, ConversationKey, Inquiry, Turn

BASELINES = {"bm25_last_message": 0.0, "dense_last_message": 1.0}  # name -> alpha
RANK_DEPTH = 10
Progress = Callable[[str, int, int], None]


@dataclass
class Outcome:
    question: Question
    answered: bool
    mode: str
    citations_valid: bool
    rank: int | None = None
    coverage: float = 0.0
    timings_ms: dict[str, float] = field(default_factory=dict)
    baseline_ranks: dict[str, int | None] = field(default_factory=dict)


def eval_settings(settings: Settings, corpus: Path) -> Settings:
    """The product's settings pointed at the corpus, offline, in a data directory of its own."""
    digest = hashlib.sha256(str(corpus.resolve()).encode()).hexdigest()[:12]
    return settings.model_copy(update={
        "data_dir": settings.data_dir / "eval" / digest,
        "knowledge": [KnowledgeSource(path=corpus, audience="public")],
        "anthropic_api_key": None,  # the offline answerer: figures do not depend on a model
        "redis_url": None,  # never touch a production Redis
        "weaviate": settings.weaviate.model_copy(update={"url": None, "multi_tenancy": False}),
        "cache": settings.cache.model_copy(update={"enabled": False}),
        "rate_limit": RateLimitSettings(enabled=False),
    })


class EvaluationRun:
    def __init__(self, bot) -> None:
        self.bot = bot
        ranking = bot.settings.retrieval.model_copy(update={"top_k": RANK_DEPTH})
        self.ranker = Retriever(bot.index, bot.embeddings, ranking)

    async def ask(self, question: Question) -> Outcome:
        conversation = ConversationKey("eval", "run", question.id)
        if question.history:
            await self.bot.memory.append(conversation, *(Turn(role, text) for role, text in question.history))
        answer = await self.bot.answer(Inquiry(text=question.text, conversation=conversation,
                                               user_id="eval", audience=Audience.PUBLIC))
        await self.bot.forget(conversation)
        outcome = Outcome(
            question=question, answered=answer.grounded, mode=answer.mode,
            citations_valid=citations_valid(answer.text, [s.number for s in answer.sources]),
            timings_ms=dict(answer.timings_ms),
        )
        if question.answerable:
            self._rank(outcome, answer.standalone_question)
        return outcome

    def _rank(self, outcome: Outcome, standalone: str) -> None:
        """Where the gold document lands for the product's query, and for each baseline's."""
        question = outcome.question
        hits = self.ranker.retrieve(standalone, Audience.PUBLIC).hits
        outcome.rank = gold_rank(unique_in_order(h.chunk.document_id for h in hits), question.gold_doc_ids)
        gold = set(question.gold_doc_ids)
        outcome.coverage = passage_coverage(question.gold_spans,
                                            [h.chunk.text for h in hits if h.chunk.document_id in gold])
        vector = embed_query(self.bot.embeddings, question.text)
        for name, alpha in BASELINES.items():
            outcome.baseline_ranks[name] = gold_rank(self._baseline(question.text, vector, alpha),
                                                     question.gold_doc_ids)

    def _baseline(self, text: str, vector: np.ndarray, alpha: float) -> list[str]:
        hits = self.bot.index.search(SearchQuery(text=text, vector=vector, audience=Audience.PUBLIC,
                                                 limit=RANK_DEPTH * 4, alpha=alpha, candidates=RANK_DEPTH * 4))
        return unique_in_order(h.chunk.document_id for h in hits)[:RANK_DEPTH]


async def run_questions(bot, questions: list[Question], progress: Progress) -> list[Outcome]:
    run = EvaluationRun(bot)
    outcomes = []
    for done, question in enumerate(questions, 1):
        outcomes.append(await run.ask(question))
        progress("questions", done, len(questions))
    return outcomes
