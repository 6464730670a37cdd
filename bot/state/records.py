"""Durable-ish records the adapters need: answers by id, escalations and feedback.

In process here; the Redis issue stores them durably behind the same methods.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace
from typing import Protocol

from bot.types import Answer, ConversationKey, Escalation, Feedback


class Records(Protocol):
    async def save_answer(self, conversation: ConversationKey, answer: Answer) -> None: ...
    async def find_answer(self, answer_id: str) -> tuple[ConversationKey, Answer] | None: ...
    async def save_escalation(self, escalation: Escalation) -> None: ...
    async def open_escalation(self, conversation: ConversationKey) -> Escalation | None: ...
    async def find_escalation(self, escalation_id: str) -> Escalation | None: ...
    async def close_escalation(self, escalation_id: str, resolved_by: str) -> Escalation | None: ...
    async def save_feedback(self, feedback: Feedback) -> None: ...


class InMemoryRecords:
    def __init__(self, max_answers: int = 10_000) -> None:
        self.max_answers = max_answers
        self.answers: OrderedDict[str, tuple[ConversationKey, Answer]] = OrderedDict()
        self.escalations: dict[str, Escalation] = {}
        self.feedback: list[Feedback] = []

    async def save_answer(self, conversation: ConversationKey, answer: Answer) -> None:
        self.answers[answer.answer_id] = (conversation, answer)
        while len(self.answers) > self.max_answers:
            self.answers.popitem(last=False)

    async def find_answer(self, answer_id: str) -> tuple[ConversationKey, Answer] | None:
        return self.answers.get(answer_id)

    async def save_escalation(self, escalation: Escalation) -> None:
        self.escalations[escalation.escalation_id] = escalation

    async def open_escalation(self, conversation: ConversationKey) -> Escalation | None:
        return next((e for e in self.escalations.values()
                     if e.conversation == conversation and not e.resolved_by), None)

    async def find_escalation(self, escalation_id: str) -> Escalation | None:
        return self.escalations.get(escalation_id)

    async def close_escalation(self, escalation_id: str, resolved_by: str) -> Escalation | None:
        escalation = self.escalations.get(escalation_id)
        if escalation is None or escalation.resolved_by:
            return escalation
        self.escalations[escalation_id] = replace(escalation, resolved_by=resolved_by)
        return self.escalations[escalation_id]

    async def save_feedback(self, feedback: Feedback) -> None:
        self.feedback.append(feedback)
