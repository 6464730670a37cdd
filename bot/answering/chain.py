"""The answer path as one LCEL chain: standalone question -> cache or (retrieve -> ground/decline
-> prompt -> model -> citations).

SupportBot runs this chain for every question, and nothing else answers: what a LangChain
callback handler (LangSmith with LANGSMITH_TRACING=true, Langfuse, any BaseCallbackHandler passed
as `callbacks`) sees is what the asker got. Everything runs under one parent run
("supportbot_answer"): the follow-up rewrite, PolicyRetriever's retriever run and the generation
(prompt, chat model, parser) are its children. The grounding decision, the decline signal and the
citations stay deterministic code inside the chain's steps; the model only writes text.

Without a model (no API key) the same chain answers extractively from the retrieved passages.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

import structlog
from langchain_core.embeddings import Embeddings
from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda

from bot.answering.citations import NumberedPassages, number_passages, resolve_citations
from bot.answering.extractive import extractive_answer
from bot.answering.generation import ChatAnswerer
from bot.answering.policy_retriever import PolicyRetriever
from bot.answering.prompt_text import history_block, is_no_answer, may_become_no_answer, passages_block, question_block
from bot.answering.retrieval import Retrieval, Retriever
from bot.answering.standalone import deterministic_standalone, split_standalone
from bot.answering.stray_marks import without_stray_marks
from bot.knowledge.batching import BatchedQueryEmbeddings
from bot.knowledge.embeddings import embed_query
from bot.knowledge.stores.protocol import IndexStoreError
from bot.ops.observer import Observer
from bot.prompts import PromptSet
from bot.settings import Settings
from bot.state.cache import CacheKey, cache_key
from bot.state.stores import StateStores
from bot.types import Answer, Inquiry, ThreadPages, Turn

log = structlog.get_logger(__name__)
DeltaCallback = Callable[[str], Awaitable[None] | None]
Safely = Callable[[Awaitable[Any], Any, str], Awaitable[Any]]
# Runs blocking work (embedding, search, the extractive answer) off the event loop.
RunBlocking = Callable[..., Awaitable[Any]]
RUN_NAME = "supportbot_answer"


@dataclass
class Question:
    """What flows through the chain: one question and what its steps found out about it."""

    inquiry: Inquiry
    prompts: PromptSet
    history: list[Turn]
    on_delta: DeltaCallback | None = None
    standalone: str = ""
    started: float = field(default_factory=time.perf_counter)
    rewritten: float = 0.0
    generation: int = 0
    key: CacheKey | None = None
    vector: Any = None
    retrieval: Retrieval | None = None

    @property
    def thread_pages(self) -> ThreadPages:
        return ThreadPages.of(self.history)


def answer_record(settings: Settings, prompts: PromptSet, inquiry: Inquiry, text: str, *, mode: str,
                  question: str, sources: list | None = None) -> Answer:
    """An Answer of any kind; a decline gets decline.md's text whatever `text` says."""
    if mode == "declined":
        text = prompts.render("decline.md", question=inquiry.text, company_name=settings.company_name).strip()
    return Answer(
        text=text, sources=sources or [], grounded=mode in ("generated", "extractive"),
        answer_id=uuid.uuid4().hex, prompt_version=prompts.version, standalone_question=question,
        mode=mode, offer_human=True, audience=inquiry.audience,
    )


class AnswerChain:
    def __init__(self, settings: Settings, *, retriever: Retriever, embeddings: Embeddings,
                 state: StateStores, answerer: ChatAnswerer | None, observer: Observer, safely: Safely,
                 run_blocking: RunBlocking = asyncio.to_thread) -> None:
        self.settings = settings
        self.retriever = retriever
        self.embeddings = embeddings
        self.state = state
        self.answerer = answerer
        self.observer = observer
        self._safely = safely
        self._run_blocking = run_blocking
        self.model_signature = answerer.model_signature if answerer else "extractive"
        # One run for the whole answer; its steps are plain calls inside it. Each LangChain run
        # costs the event loop callback-manager work (about 0.4 ms here), and the steps that
        # only passed the Question along (standalone, cached_or_fresh, retrieve, compose and
        # the sequence between them) were 5 of the 11 runs per answer. What a trace shows is
        # what does work: the retriever, the prompt, the chat model and the parser.
        self.runnable: Runnable = RunnableLambda(self._answer, name=RUN_NAME)

    async def run(self, question: Question, callbacks: list | None = None) -> Answer:
        config: RunnableConfig = {"callbacks": callbacks or [], "run_name": RUN_NAME,
                                  "metadata": {"audience": str(question.inquiry.audience),
                                               "tenant": question.inquiry.tenant}}
        return await self.runnable.ainvoke(question, config)

    @property
    def _caching(self) -> bool:
        return self.settings.cache.enabled

    async def _answer(self, question: Question, config: RunnableConfig) -> Answer:
        await self._standalone(question, config)
        return await self._cached_or_fresh(question, config)

    # ----- standalone question -------------------------------------------------------------

    async def _standalone(self, question: Question, config: RunnableConfig) -> Question:
        question.standalone = await self._rewrite(question, config)
        question.rewritten = time.perf_counter()
        return question

    async def _rewrite(self, question: Question, config: RunnableConfig) -> str:
        text, history = question.inquiry.text, question.history
        fallback = deterministic_standalone(text, history)
        if not history or not self.answerer or not self.settings.llm.rewrite_followups:
            return fallback
        try:
            rewritten = await self.answerer.rewrite(question.prompts, text, history_block(history), config)
        except Exception as exc:  # any model failure: the deterministic rewrite still works
            log.warning("follow-up rewrite failed; using the deterministic rewrite", error=str(exc))
            self.observer.model_fallback("rewrite", exc)
            return fallback
        # The model may copy a counter from the message; the deterministic rewrite drops it too.
        rewritten = without_stray_marks(rewritten)
        return rewritten if 0 < len(rewritten) <= 4 * self.settings.max_question_chars else fallback

    # ----- cache, or a fresh answer --------------------------------------------------------

    async def _cached_or_fresh(self, question: Question, config: RunnableConfig) -> Answer:
        inquiry, prompts, standalone = question.inquiry, question.prompts, question.standalone
        try:  # in a thread: the local index may load a new generation from disk here
            question.generation = await asyncio.to_thread(self.retriever.index.generation)
        except IndexStoreError as exc:
            return self._unavailable(question, exc)
        key = question.key = cache_key(standalone, inquiry.audience, question.generation, prompts.version,
                                       self.model_signature, tenant=inquiry.tenant)
        answer = await self._safely(self.state.cache.get(key), None, "cache.get") if self._caching else None
        if answer is None and self._caching and self.settings.cache.semantic:
            question.vector = await self._run_blocking(embed_query, self.embeddings, standalone)
            answer = await self._safely(self.state.cache.get_paraphrase(key, question.vector), None,
                                        "cache.paraphrase")
        if answer is None:

            async def fresh() -> Answer:
                try:
                    await self._retrieve(question, config)
                    return await self._compose(question, config)
                except IndexStoreError as exc:
                    return self._unavailable(question, exc)

            answer, computed = await self.state.stampede.once(key, fresh) if self._caching else (await fresh(), True)
        else:
            computed = False
        if not computed:  # served from the cache or by an identical question answered just now
            answer = replace(answer, cached=True, answer_id=uuid.uuid4().hex, timings_ms={})
        answer.timings_ms["rewrite"] = (question.rewritten - question.started) * 1000
        return answer

    def _unavailable(self, question: Question, exc: Exception) -> Answer:
        """The index is down: apologise and offer a human; nothing of this is cached."""
        log.error("policy index unavailable; apologising", error=str(exc))
        text = question.prompts.render("apology.md", company_name=self.settings.company_name).strip()
        return answer_record(self.settings, question.prompts, question.inquiry, text, mode="unavailable",
                             question=question.standalone)

    # ----- retrieve --------------------------------------------------------------------------

    async def _retrieve(self, question: Question, config: RunnableConfig) -> Question:
        """PolicyRetriever's run (audience and tenant fixed by the inquiry), keeping the whole
        Retrieval: grounding and the extractive answer need its signals and query vector."""
        embedded = 0.0
        if question.vector is None:
            started = time.perf_counter()
            question.vector = await self._batched_vector(question.standalone)
            embedded = (time.perf_counter() - started) * 1000 if question.vector is not None else 0.0
        retriever = PolicyRetriever(retriever=self.retriever, audience=question.inquiry.audience,
                                    tenant=question.inquiry.tenant, run_blocking=self._run_blocking)
        found: list[Retrieval] = []
        await retriever.ainvoke(question.standalone, config, vector=question.vector, thread=question.thread_pages,
                                retrieval_sink=found)
        question.retrieval = found[0]
        if embedded:
            question.retrieval.timings_ms["embed"] = embedded
        return question

    async def _batched_vector(self, standalone: str) -> Any:
        """The question's vector from the query batcher, awaited on the event loop, when the
        retrieval will use it as it is (a question without thread context); else None and the
        retrieval embeds on the preparation pool."""
        if not isinstance(self.embeddings, BatchedQueryEmbeddings) or split_standalone(standalone)[1]:
            return None
        return await self.embeddings.aembed_vector(standalone)

    # ----- ground, generate, cite ------------------------------------------------------------

    async def _compose(self, question: Question, config: RunnableConfig) -> Answer:
        """The answer for a fresh question, cached when it may be."""
        assert question.retrieval is not None  # set by the retrieve step
        answer, cacheable = await self._answer_from(question, question.retrieval, config)
        answer.generation = question.generation
        answer.timings_ms.update(question.retrieval.timings_ms)
        if cacheable and self._caching and question.key is not None:
            await self._safely(self.state.cache.set(question.key, answer, question.retrieval.query_vector),
                               None, "cache.set")
        return answer

    async def _answer_from(self, question: Question, retrieval: Retrieval,
                           config: RunnableConfig) -> tuple[Answer, bool]:
        """The answer and whether it may be cached: a decline, generated, or extractive."""
        inquiry, prompts, standalone = question.inquiry, question.prompts, question.standalone

        def record(text: str, mode: str, sources: list | None = None) -> Answer:
            return answer_record(self.settings, prompts, inquiry, text, mode=mode, question=standalone,
                                 sources=sources)

        if not retrieval.grounded:
            return record("", "declined"), True
        passages = number_passages(retrieval.hits, self.settings.retrieval.max_context_chars)
        generating = time.perf_counter()
        text, mode, cacheable, timings = "", "generated", True, {}
        if self.answerer is not None:
            try:
                text = await self._generate(question, passages, config, timings)
            except Exception as exc:  # an API error, a timeout, a broken stream
                log.warning("model call failed; answering from the policy text", error=repr(exc))
                self.observer.model_fallback("answer", exc)
                text, mode, cacheable = "", "extractive", False  # retry the model next time
            if text and is_no_answer(text):
                return record("", "declined"), True
        if not text:
            mode = "extractive"
            text = await self._run_blocking(extractive_answer, retrieval.query_vector, passages, self.embeddings)
        if not text:
            return record("", "declined"), True
        body, sources = resolve_citations(text, passages.sources)
        if not sources:  # the model answered without markers: still show what it was given
            sources = list(passages.sources.values())
        answer = record(body, mode, sources)
        answer.timings_ms.update(timings if mode == "generated" else {})
        answer.timings_ms["answer"] = (time.perf_counter() - generating) * 1000
        return answer, cacheable

    async def _generate(self, question: Question, passages: NumberedPassages, config: RunnableConfig,
                        timings: dict[str, float]) -> str:
        """The model's answer, streamed to on_delta; timings gets its first-token and total times."""
        assert self.answerer is not None
        inputs = {"prompts": question.prompts, "question": question_block(question.inquiry.text),
                  "context": passages_block(passages), "history": history_block(question.history)}
        pieces: list[str] = []
        forwarded = 0
        started = time.perf_counter()
        async for piece in self.answerer.stream_answer(inputs, config):
            if not pieces:
                timings["model_first_token"] = (time.perf_counter() - started) * 1000
            pieces.append(piece)
            text = "".join(pieces)
            # Hold back text that could still turn out to be the NO_ANSWER signal.
            if question.on_delta and not may_become_no_answer(text):
                await _call(question.on_delta, text[forwarded:])
                forwarded = len(text)
        timings["model"] = (time.perf_counter() - started) * 1000
        return "".join(pieces)


async def _call(callback: DeltaCallback, text: str) -> None:
    result = callback(text)
    if asyncio.iscoroutine(result):
        await result

