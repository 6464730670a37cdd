"""SupportBot: the one platform-neutral service every adapter calls.

answer() takes a neutral Inquiry and always returns an Answer: generated and cited, extractive
(quoted policy sentences) when no model is configured or the model fails, or a decline that
offers a human. State failures (memory, cache, records) degrade the answer; they never drop it.

Besides answering, adapters call it for what every platform needs the same way: deduplicating
retried deliveries, hand-over to a human, feedback, and `/reindex` as a one-at-a-time job.
"""

from __future__ import annotations

import asyncio
import functools
import math
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, TypeVar

import structlog
from langchain_core.embeddings import Embeddings

from bot.answering.chain import AnswerChain, Question, answer_record
from bot.answering.generation import ChatAnswerer
from bot.answering.language import LanguageGuard, language_name
from bot.answering.preparation import PreparationPool
from bot.answering.retrieval import Retrieval, Retriever
from bot.buttons import ButtonSigner
from bot.knowledge.stores.protocol import IndexStoreError
from bot.knowledge.indexer import IndexSummary, ProgressCallback, ReindexError, reindex
from bot.knowledge.reindex_job import AsyncProgress, ReindexBusy, run_reindex_job
from bot.knowledge.stores.weaviate.tenancy import settings_for_tenant, tenant_scope
from bot.ops.observer import Observer
from bot.prompts import PromptSet, PromptStore
from bot.settings import Settings
from bot.speaking import Delivery, SpeakDecision, decide
from bot.state.button_secret import button_secret
from bot.state.connection import StateUnavailable
from bot.state.guards import Lock, RateDecision
from bot.state.leases import EventLease
from bot.state.stores import StateStores
from bot.types import Answer, Audience, ConversationKey, Escalation, Feedback, Inquiry, Turn

log = structlog.get_logger(__name__)
T = TypeVar("T")
DeltaCallback = Callable[[str], Awaitable[None] | None]


def answer_turn(answer: Answer, retrieval: Retrieval | None) -> Turn:
    """The assistant turn a thread remembers: the answer's text, the documents it cited and the
    first pages its search ranked (none for a cache hit, which searched nothing)."""
    return Turn("assistant", answer.text, sources=answer.cited_documents(),
                consulted=retrieval.top_pages() if retrieval else ())


class SupportBot:
    def __init__(
        self,
        settings: Settings,
        *,
        retriever: Retriever,
        embeddings: Embeddings,
        prompts: PromptStore,
        state: StateStores,
        answerer: ChatAnswerer | None = None,
        observer: Observer | None = None,
        callbacks: list | None = None,
    ) -> None:
        self.settings = settings
        self.index = retriever.index
        self.embeddings = embeddings
        self.prompts = prompts
        self.state = state
        self.memory = state.memory
        self.cache = state.cache
        self.records = state.records
        self.answerer = answerer
        self.model_signature = answerer.model_signature if answerer else "extractive"
        self.observer = observer or Observer()  # metrics (bot/ops/metrics.py) or nothing
        self.languages = LanguageGuard(settings.retrieval.languages)
        self._signer: ButtonSigner | None = None
        self.preparing = PreparationPool(settings.throughput.max_preparing)  # retrieval, in arrival order
        # LangChain callback handlers that see every answer's run (retrieval, model) as one trace.
        self.callbacks: list = list(callbacks or [])
        self.chain = AnswerChain(settings, retriever=retriever, embeddings=embeddings, state=state,
                                 answerer=answerer, observer=self.observer, safely=self._safely,
                                 run_blocking=self.preparing.run)

    @property
    def retriever(self) -> Retriever:
        """The chain's retriever; replacing it (the evaluation wraps it) replaces it in the chain."""
        return self.chain.retriever

    @retriever.setter
    def retriever(self, retriever: Retriever) -> None:
        self.chain.retriever = retriever

    # ----- answering -----------------------------------------------------------------------

    async def answer(self, inquiry: Inquiry, on_delta: DeltaCallback | None = None) -> Answer:
        if not self.settings.weaviate.multi_tenancy:  # one knowledge base for every team
            inquiry = replace(inquiry, tenant=None)
        structlog.contextvars.unbind_contextvars("answer_id")  # a previous answer's, in this task
        structlog.contextvars.bind_contextvars(conversation=str(inquiry.conversation))
        with tenant_scope(inquiry.tenant):  # which team's knowledge base (multi-tenancy)
            answer = await self._answer_for_team(inquiry, on_delta)
        structlog.contextvars.bind_contextvars(answer_id=answer.answer_id)  # for the rest of the delivery
        self.observer.answered(inquiry, answer)
        log.info("answered", tenant=inquiry.tenant, mode=answer.mode,
                 cached=answer.cached, grounded=answer.grounded, sources=len(answer.sources),
                 total_ms=round(answer.timings_ms.get("total", 0.0), 1),
                 question=answer.standalone_question)  # dropped unless log_questions = true
        return answer

    async def _answer_for_team(self, inquiry: Inquiry, on_delta: DeltaCallback | None) -> Answer:
        started = time.perf_counter()
        prompts = self.prompts.current()
        if problem := self._problem_with(inquiry):
            return self._answer(prompts, inquiry, problem, mode="rejected", question=inquiry.text)
        if not inquiry.rate_checked and not (decision := await self.rate_decision(inquiry)).allowed:
            return self._busy(prompts, inquiry, decision)
        if language := await asyncio.to_thread(self.languages.unserved_language, inquiry.text):
            return self._other_language(prompts, inquiry, language)
        conversation = inquiry.conversation
        history = await self._safely(self.memory.load(conversation, inquiry.audience), [], "memory.load")
        question = Question(inquiry=inquiry, prompts=prompts, history=history, on_delta=on_delta, started=started)
        answer = await self.chain.run(question, self.callbacks)
        answer.timings_ms["total"] = (time.perf_counter() - started) * 1000
        turns = (Turn("user", inquiry.text), answer_turn(answer, question.retrieval))
        await self._safely(self.state.remember_answer(conversation, turns, answer, audience=inquiry.audience,
                                                      tenant=inquiry.tenant), None, "remember_answer")
        return answer

    async def rate_decision(self, inquiry: Inquiry) -> RateDecision:
        if inquiry.is_admin:
            return RateDecision(True)
        return await self._safely(self.state.limiter.take(inquiry.conversation.platform, inquiry.user_id),
                                  RateDecision(True), "rate_limit")

    def busy_text(self, retry_after_s: float, prompts: PromptSet | None = None) -> str:
        return (prompts or self.prompts.current()).render(
            "busy.md", retry_after=str(max(1, math.ceil(retry_after_s))),
            company_name=self.settings.company_name).strip()

    def _busy(self, prompts: PromptSet, inquiry: Inquiry, decision: RateDecision) -> Answer:
        log.info("rate limited", user=inquiry.user_id, retry_after_s=round(decision.retry_after_s, 1))
        text = self.busy_text(decision.retry_after_s, prompts)
        answer = self._answer(prompts, inquiry, text, mode="limited", question=inquiry.text)
        answer.offer_human = False
        return answer

    def _other_language(self, prompts: PromptSet, inquiry: Inquiry, language: str) -> Answer:
        """A decline that says which languages the knowledge base can serve, and offers a human."""
        answer = self._answer(prompts, inquiry, "", mode="declined", question=inquiry.text)
        answer.text = prompts.render("language.md", languages=self.languages.served_names,
                                     language=language_name(language), question=inquiry.text,
                                     company_name=self.settings.company_name).strip()
        return answer

    def apology(self) -> str:
        """What adapters say when something failed before an answer could be made."""
        return self.prompts.current().render("apology.md", company_name=self.settings.company_name).strip()

    async def may_speak(self, inquiry: Inquiry, delivery: Delivery | None = None, *,
                        addressed: bool = True) -> SpeakDecision:
        """Whether to answer this question at all (bot/speaking.py); `addressed`: the asker spoke
        to the bot directly (a mention, a DM, a command), so a refusal is worth telling them."""
        return await decide(self, inquiry, delivery, addressed=addressed)

    async def first_delivery(self, platform: str, event_id: str, *, retry: bool = False) -> bool:
        """False for a platform's repeated delivery of an event already being handled; fails
        closed when Redis cannot say (bot/state/dedupe.py)."""
        if not event_id:
            return True
        first = await self.state.events.claim(platform, event_id, retry=retry)
        if not first:
            self.observer.duplicate_delivery(platform)
        return first

    async def lease_delivery(self, platform: str, event_id: str, *, retry: bool = False,
                             wait_s: float = 0.0) -> EventLease | None:
        """For events the platform redelivers when a worker died before acknowledging them: a
        lease to answer under (renewed while answering, done once posted), or None for a
        delivery another worker is answering or answered (bot/state/leases.py)."""
        lease = await self.state.events.lease(platform, event_id, retry=retry, wait_s=wait_s)
        if lease is None:
            self.observer.duplicate_delivery(platform)
        return lease

    @property
    def _caching(self) -> bool:
        return self.settings.cache.enabled

    def _problem_with(self, inquiry: Inquiry) -> str | None:
        text = inquiry.text.strip()
        limit = self.settings.max_question_chars
        if not text:
            return "Ask me a question about our policies, for example: \"How do I return an item?\""
        if len(text) > limit:
            return (f"Your message is {len(text):,} characters long; I can read up to {limit:,}. "
                    "Please shorten it, or ask one question at a time.")
        return None

    def _answer(self, prompts: PromptSet, inquiry: Inquiry, text: str, *, mode: str, question: str,
                sources: list | None = None) -> Answer:
        return answer_record(self.settings, prompts, inquiry, text, mode=mode, question=question, sources=sources)

    # ----- hand-over and feedback ----------------------------------------------------------

    async def escalate(self, conversation: ConversationKey, requested_by: str,
                       answer_id: str | None = None) -> Escalation:
        """Hand the thread to a person; the bot stays quiet there until resolve()."""
        if open_one := await self.records.open_escalation(conversation):
            return open_one
        found = await self.records.find_answer(answer_id) if answer_id else None
        last_answer = found[1] if found else None
        audience = last_answer.audience if last_answer else Audience.PUBLIC
        transcript = await self._safely(self.memory.load(conversation, audience), [], "memory.load")
        question = next((t.text for t in reversed(transcript) if t.role == "user"), "")
        prompts = self.prompts.current()
        escalation = Escalation(
            escalation_id=_new_id(), conversation=conversation, requested_by=requested_by,
            question=question, transcript=transcript, last_answer=last_answer,
            acknowledgement=prompts.render("escalation.md", question=question,
                                           company_name=self.settings.company_name).strip(),
        )
        opened = escalation.escalation_id
        escalation = await self.records.save_escalation(escalation)
        if escalation.escalation_id == opened:  # not someone else's, opened a moment earlier
            self.observer.escalation("opened", conversation)
            log.info("escalated", conversation=str(conversation), escalation=opened)
        return escalation

    async def open_escalation(self, conversation: ConversationKey) -> Escalation | None:
        return await self._safely(self.records.open_escalation(conversation), None, "records")

    async def is_escalated(self, conversation: ConversationKey) -> bool:
        return await self.open_escalation(conversation) is not None

    async def history(self, conversation: ConversationKey, audience: Audience = Audience.PUBLIC) -> list[Turn]:
        return await self._safely(self.memory.load(conversation, audience), [], "memory.load")

    async def button_signer(self) -> ButtonSigner:
        """Seals and checks button values (bot/buttons.py); the secret is loaded on first use."""
        if self._signer is None:
            secret = await button_secret(self.settings, self.state.redis)
            self._signer = ButtonSigner(secret, self.settings.buttons.ttl_s)
        return self._signer

    async def forget(self, conversation: ConversationKey) -> None:
        await self._safely(self.memory.clear(conversation), None, "memory.clear")

    async def resolve(self, escalation_id: str, resolved_by: str) -> Escalation | None:
        escalation, won = await self.records.resolve_escalation(escalation_id, resolved_by)
        if won and escalation is not None:
            self.observer.escalation("resolved", escalation.conversation)
        return escalation

    async def feedback(self, answer_id: str, helpful: bool, user_id: str) -> Feedback | None:
        found = await self.records.find_answer(answer_id)
        if found is None:
            return None
        record = Feedback(answer_id=answer_id, prompt_version=found[1].prompt_version,
                          helpful=helpful, user_id=user_id)
        await self.records.save_feedback(record)
        self.observer.feedback(record)
        return record

    # ----- threads the bot takes part in ---------------------------------------------------

    async def follow_thread(self, conversation: ConversationKey) -> None:
        """Remember (in Redis, shared by workers) that the bot answers in this thread, so that
        follow-ups there need no mention; forgotten when the thread's memory would expire."""
        key = self._following_key(conversation)
        await self._safely(self.state.redis.run(lambda r: r.set(key, 1, ex=self.settings.memory.ttl_s)),
                           None, "threads.follow")

    async def follows_thread(self, conversation: ConversationKey) -> bool:
        key = self._following_key(conversation)
        return bool(await self._safely(self.state.redis.run(lambda r: r.exists(key)), 0, "threads.follows"))

    def _following_key(self, conversation: ConversationKey) -> str:
        return self.state.redis.key("following", conversation.platform, conversation.channel,
                                    conversation.thread)

    # ----- knowledge -----------------------------------------------------------------------

    def reindex(self, *, full: bool = False, on_progress: ProgressCallback | None = None,
                tenant: str | None = None) -> IndexSummary:
        kwargs: dict[str, Any] = {"on_progress": on_progress} if on_progress else {}
        started = time.perf_counter()
        try:
            with tenant_scope(tenant):  # multi-tenancy: that team's folders into its knowledge base
                summary = reindex(settings_for_tenant(self.settings, tenant), self.index, self.embeddings,
                                  full=full, **kwargs)
        except Exception:
            self.observer.reindexed("failed", time.perf_counter() - started)
            raise
        self.observer.reindexed("ok", time.perf_counter() - started, None if tenant else summary.generation)
        return summary

    async def run_reindex(self, *, requested_by: str, full: bool = False,
                          on_progress: AsyncProgress | None = None, tenant: str | None = None) -> IndexSummary:
        """`/reindex`: one at a time per knowledge base across workers (ReindexBusy otherwise),
        off the event loop. `tenant` is the asking team, used with weaviate.multi_tenancy."""
        tenant = tenant if self.settings.weaviate.multi_tenancy else None
        lock = Lock(self.state.redis, f"reindex:{tenant}" if tenant else "reindex",
                    ttl_s=self.settings.redis.lock_ttl_s)
        try:
            return await run_reindex_job(lock, functools.partial(self.reindex, tenant=tenant),
                                         requested_by=requested_by, full=full, on_progress=on_progress)
        except ReindexBusy:
            self.observer.reindexed("busy", 0.0)
            raise

    async def index_if_empty(self) -> None:
        """At an adapter's first start, index the knowledge base; a failure is logged, not fatal,
        so the bot still starts (and declines with a human offered until an index exists)."""
        if self.settings.weaviate.multi_tenancy:
            return  # each team is indexed on its own (`supportbot index --tenant`, /reindex)
        try:
            if await asyncio.to_thread(self.index.generation) > 0:
                return
            log.warning("first start: indexing the knowledge base")
            summary = await self.run_reindex(requested_by="startup")
            log.warning("indexed", documents=summary.documents_total, chunks=summary.chunks_total)
        except (ReindexError, IndexStoreError) as exc:
            log.error("could not index the knowledge base at start; answering from what is there",
                      error=str(exc))

    async def close(self) -> None:
        self.preparing.close()
        if close_embeddings := getattr(self.embeddings, "close", None):  # a query batcher's threads
            close_embeddings()
        if close_answerer := getattr(self.answerer, "aclose", None):  # the model's HTTP session
            await close_answerer()
        await self.state.redis.close()

    async def _safely(self, call: Awaitable[T], default: T, what: str) -> T:
        try:
            return await call
        except StateUnavailable:  # already logged once for this outage
            return default
        except Exception as exc:  # state is an optimisation; answering goes on without it
            log.warning("state call failed; continuing without it", call=what, error=repr(exc))
            return default


def _new_id() -> str:
    return uuid.uuid4().hex

