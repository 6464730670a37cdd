"""The one object the service tells what happened, so that instrumenting it is a handful of calls.

SupportBot calls an Observer where something worth counting finishes: an answer (with its mode,
cache hit, audience and stage timings), a model fallback, a hand-over opened or resolved, a vote,
a retried delivery dropped, a reindex. Adapters add how long posting an answer took. This base
class records nothing (benches measure the bot without metrics with it); metrics.py records
Prometheus metrics. Moving the answer path (an LCEL chain, the "may the bot speak" decision) only
moves these calls, never metric code.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from bot.types import Answer, ConversationKey, Feedback, Inquiry


class Observer:
    def answered(self, inquiry: Inquiry, answer: Answer) -> None:
        """Every answer the service returns, whatever its mode (rate limited and rejected too)."""

    def model_fallback(self, step: str, error: BaseException) -> None:
        """The model failed at `step` ("answer" or "rewrite") and the bot answered without it."""

    def escalation(self, event: str, conversation: ConversationKey) -> None:
        """A hand-over was "opened" or "resolved" (counted once, however many pressed)."""

    def feedback(self, feedback: Feedback) -> None:
        """A helpful / not helpful vote."""

    def duplicate_delivery(self, source: str) -> None:
        """A retried or replayed delivery (or a second press) was dropped."""

    def reindexed(self, outcome: str, seconds: float, generation: int | None = None) -> None:
        """A reindex finished: outcome "ok", "failed" or "busy" (refused, one was running)."""

    @contextmanager
    def posting(self, platform: str) -> Iterator[None]:
        """Around an adapter's rendering and posting of one answer."""
        yield

