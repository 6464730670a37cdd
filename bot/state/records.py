"""Durable records the adapters and reports need: answers by id, escalations and feedback.

Answers are kept (with a TTL) so that buttons pressed later, even after a restart, still find
what they refer to. Answers, escalations and feedback are also appended to Redis streams, the log
a support lead's report reads (bot/reporting). The answer log holds the same standalone question
the answer record keeps, for no longer (entries older than `redis.answer_ttl_s` are trimmed) and
at most `redis.answer_log_max` entries. Two people pressing "Talk to a human" or "Mark resolved" at once are
settled with SET NX: the first wins and the second sees the same record.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, replace

from bot.settings import RedisSettings
from bot.state.connection import RedisState
from bot.types import Answer, ConversationKey, Escalation, Feedback, Turn


def _conversation_dict(conversation: ConversationKey) -> dict:
    return {"platform": conversation.platform, "channel": conversation.channel,
            "thread": conversation.thread}


def escalation_to_json(escalation: Escalation) -> str:
    data = asdict(escalation)
    data["last_answer"] = escalation.last_answer.to_dict() if escalation.last_answer else None
    return json.dumps(data, ensure_ascii=False)


def escalation_from_json(raw: str | bytes) -> Escalation:
    data = json.loads(raw)
    data["conversation"] = ConversationKey(**data["conversation"])
    data["transcript"] = [Turn.from_record(t) for t in data["transcript"]]
    data["last_answer"] = Answer.from_dict(data["last_answer"]) if data["last_answer"] else None
    return Escalation(**data)


def answer_log_entry(conversation: ConversationKey, answer: Answer, tenant: str | None) -> dict[str, str]:
    """One line of the answer log: what a report counts, and the question it may cluster."""
    return {"answer_id": answer.answer_id, "platform": conversation.platform, "tenant": tenant or "",
            "mode": answer.mode, "cached": str(int(answer.cached)), "audience": str(answer.audience),
            "prompt_version": answer.prompt_version, "generation": str(answer.generation),
            "question": answer.standalone_question}


class Records:
    def __init__(self, state: RedisState, settings: RedisSettings) -> None:
        self.state = state
        self.answer_ttl_s = settings.answer_ttl_s
        self.answer_log_max = settings.answer_log_max

    def _open_key(self, conversation: ConversationKey) -> str:
        return self.state.key("escalation-open", conversation.platform, conversation.channel,
                              conversation.thread)

    # ----- answers -------------------------------------------------------------------------

    async def save_answer(self, conversation: ConversationKey, answer: Answer, *,
                          tenant: str | None = None) -> None:
        async def write(r):
            async with r.pipeline(transaction=False) as pipe:
                self.stage_answer(pipe, conversation, answer, tenant=tenant)
                await pipe.execute()

        await self.state.run(write)

    def stage_answer(self, pipe, conversation: ConversationKey, answer: Answer, *,
                     tenant: str | None = None) -> None:
        """Queue the answer's record and its log line on a pipeline (one round trip with the
        thread's memory: StateStores.remember_answer)."""
        record = json.dumps({"conversation": _conversation_dict(conversation),
                             "answer": answer.to_dict()}, ensure_ascii=False)
        log_key = self.state.key("log", "answers")
        oldest_ms = int((time.time() - self.answer_ttl_s) * 1000)
        pipe.set(self.state.key("answer-id", answer.answer_id), record, ex=self.answer_ttl_s)
        pipe.xadd(log_key, answer_log_entry(conversation, answer, tenant),
                  maxlen=self.answer_log_max, approximate=True)
        pipe.xtrim(log_key, minid=oldest_ms, approximate=True)

    async def find_answer(self, answer_id: str) -> tuple[ConversationKey, Answer] | None:
        raw = await self.state.run(lambda r: r.get(self.state.key("answer-id", answer_id)))
        if not raw:
            return None
        data = json.loads(raw)
        return ConversationKey(**data["conversation"]), Answer.from_dict(data["answer"])

    # ----- escalations ---------------------------------------------------------------------

    async def save_escalation(self, escalation: Escalation) -> Escalation:
        """Store a new hand-over, or return the one already open in that thread.

        The record is written before the thread's pointer is claimed, so whoever loses the claim
        always finds the winner's record behind the pointer.
        """
        record_key = self.state.key("escalation", escalation.escalation_id)
        await self.state.run(lambda r: r.set(record_key, escalation_to_json(escalation)))
        open_key = self._open_key(escalation.conversation)
        if not await self.state.run(lambda r: r.set(open_key, escalation.escalation_id, nx=True)):
            existing = await self.open_escalation(escalation.conversation)
            if existing is not None:
                await self.state.run(lambda r: r.delete(record_key))
                return existing
            await self.state.run(lambda r: r.set(open_key, escalation.escalation_id))  # resolved meanwhile
        await self._write(escalation, event="opened")
        return escalation

    async def open_escalation(self, conversation: ConversationKey) -> Escalation | None:
        escalation_id = await self.state.run(lambda r: r.get(self._open_key(conversation)))
        return await self.find_escalation(escalation_id.decode()) if escalation_id else None

    async def find_escalation(self, escalation_id: str) -> Escalation | None:
        raw = await self.state.run(lambda r: r.get(self.state.key("escalation", escalation_id)))
        return escalation_from_json(raw) if raw else None

    async def close_escalation(self, escalation_id: str, resolved_by: str) -> Escalation | None:
        """Mark resolved; the first person to resolve it is the one recorded."""
        return (await self.resolve_escalation(escalation_id, resolved_by))[0]

    async def resolve_escalation(self, escalation_id: str, resolved_by: str) -> tuple[Escalation | None, bool]:
        """close_escalation(), and whether this call was the one that resolved it."""
        escalation = await self.find_escalation(escalation_id)
        if escalation is None or escalation.resolved_by:
            return escalation, False
        marker = self.state.key("escalation-resolved", escalation_id)
        won = await self.state.run(lambda r: r.set(marker, resolved_by, nx=True))
        if not won:  # the winner may not have rewritten the record yet: its name is in the marker
            winner = await self.state.run(lambda r: r.get(marker))
            return replace(escalation, resolved_by=winner.decode() if winner else escalation.resolved_by), False
        resolved = replace(escalation, resolved_by=resolved_by)
        await self._write(resolved, event="resolved")
        open_key = self._open_key(escalation.conversation)
        # Only clear the thread's pointer if it still names this escalation.
        if await self.state.run(lambda r: r.get(open_key)) == escalation_id.encode():
            await self.state.run(lambda r: r.delete(open_key))
        return resolved, True

    async def _write(self, escalation: Escalation, *, event: str) -> None:
        async def write(r):
            async with r.pipeline(transaction=True) as pipe:
                pipe.set(self.state.key("escalation", escalation.escalation_id), escalation_to_json(escalation))
                pipe.xadd(self.state.key("log", "escalations"), {
                    "event": event, "escalation_id": escalation.escalation_id,
                    "conversation": str(escalation.conversation),
                    "requested_by": escalation.requested_by, "resolved_by": escalation.resolved_by,
                })
                await pipe.execute()

        await self.state.run(write)

    # ----- feedback ------------------------------------------------------------------------

    async def save_feedback(self, feedback: Feedback) -> None:
        """One vote per user and answer (a second press replaces it), plus an entry in the log."""
        async def write(r):
            async with r.pipeline(transaction=True) as pipe:
                votes = self.state.key("feedback", feedback.answer_id)
                pipe.hset(votes, feedback.user_id, json.dumps(asdict(feedback)))
                pipe.expire(votes, self.answer_ttl_s)
                pipe.xadd(self.state.key("log", "feedback"), {
                    "answer_id": feedback.answer_id, "prompt_version": feedback.prompt_version,
                    "helpful": int(feedback.helpful), "user_id": feedback.user_id,
                })
                await pipe.execute()

        await self.state.run(write)

    async def feedback_for(self, answer_id: str) -> list[Feedback]:
        votes = await self.state.run(lambda r: r.hvals(self.state.key("feedback", answer_id)))
        return [Feedback(**json.loads(v)) for v in votes]
