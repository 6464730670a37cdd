"""Prometheus metrics (prometheus-client): the Observer that counts what the service reports.

Each bot gets its own registry (with the process and Python collectors), served at /metrics by
server.py, so two bots in one process (tests, benches) never mix their counts. Labels are small
closed sets: platform, mode, audience, stage, outcome, the prompt version; never a user, a
channel or a question.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from bot.ops.observer import Observer
from bot.types import Answer, ConversationKey, Feedback, Inquiry

# The service's timings_ms keys that are stages of answering, as the stage label shows them.
STAGES = {"rewrite": "rewrite", "embed": "embed", "search": "search",
          "model_first_token": "model_first_token", "model": "model_total", "answer": "compose"}
# Seconds: from a cache hit (~1 ms) to a slow model answer (~30 s).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60)


class Metrics(Observer):
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        GCCollector(registry=r)
        self.answers = Counter("supportbot_answers", "Answers returned, by how they were made",
                               ["platform", "mode", "cached", "audience"], registry=r)
        self.answer_seconds = Histogram("supportbot_answer_seconds", "Time to answer a question, whole",
                                        ["cached"], buckets=LATENCY_BUCKETS, registry=r)
        self.stage_seconds = Histogram("supportbot_stage_seconds", "Time spent in each stage of answering",
                                       ["stage"], buckets=LATENCY_BUCKETS, registry=r)
        self.post_seconds = Histogram("supportbot_post_seconds", "Rendering and posting one answer",
                                      ["platform"], buckets=LATENCY_BUCKETS, registry=r)
        self.posts = Counter("supportbot_posts", "Answers posted to a platform, by outcome",
                             ["platform", "outcome"], registry=r)
        self.fallbacks = Counter("supportbot_model_fallbacks", "Model calls that failed and were "
                                 "answered without the model", ["step", "error"], registry=r)
        self.escalations = Counter("supportbot_escalations", "Hand-overs to a person",
                                   ["platform", "event"], registry=r)
        self.feedback_votes = Counter("supportbot_feedback", "Helpful / not helpful votes",
                                      ["prompt_version", "helpful"], registry=r)
        self.rate_limited = Counter("supportbot_rate_limited", "Questions refused by the per-user rate limit",
                                    ["platform"], registry=r)
        self.duplicates = Counter("supportbot_duplicate_deliveries", "Retried or replayed deliveries "
                                  "dropped (answered once)", ["source"], registry=r)
        self.redis_up = Gauge("supportbot_redis_up", "1 while Redis answers, 0 while the circuit "
                              "breaker is open (answering without cache and memory)", registry=r)
        self.index_generation = Gauge("supportbot_index_generation", "Knowledge base generation "
                                      "answers came from (or the last reindex made)", registry=r)
        self.reindexes = Counter("supportbot_reindexes", "Reindex runs, by outcome", ["outcome"], registry=r)
        self.reindex_seconds = Gauge("supportbot_reindex_last_duration_seconds",
                                     "How long the last finished reindex took", registry=r)
        self.reindex_ok = Gauge("supportbot_reindex_last_success", "1 if the last reindex succeeded",
                                registry=r)
        self.reindex_finished = Gauge("supportbot_reindex_last_finished_timestamp_seconds",
                                      "When the last reindex finished (Unix time)", registry=r)
        self.prompt_info = Gauge("supportbot_prompt_version_info", "1 for the prompt version answering now",
                                 ["prompt_version"], registry=r)
        self._prompt_version = ""

    def watch_redis(self, available: Callable[[], bool], late_replies: Callable[[], int] | None = None) -> None:
        """Read the breaker's state, and how many calls a busy loop cost, at every scrape."""
        self.redis_up.set_function(lambda: 1.0 if available() else 0.0)
        if late_replies is not None:
            self.registry.register(_LateReplies(late_replies))

    # ----- Observer ------------------------------------------------------------------------

    def answered(self, inquiry: Inquiry, answer: Answer) -> None:
        platform = inquiry.conversation.platform
        self.answers.labels(platform, answer.mode, _flag(answer.cached), str(answer.audience)).inc()
        if answer.mode == "limited":
            self.rate_limited.labels(platform).inc()
        timings = answer.timings_ms
        if "total" in timings:
            self.answer_seconds.labels(_flag(answer.cached)).observe(timings["total"] / 1000)
        for key, stage in STAGES.items():
            if key in timings:
                self.stage_seconds.labels(stage).observe(timings[key] / 1000)
        if answer.generation > 0 and inquiry.tenant is None:
            self.index_generation.set(answer.generation)
        self._current_prompts(answer.prompt_version)

    def model_fallback(self, step: str, error: BaseException) -> None:
        self.fallbacks.labels(step, type(error).__name__).inc()

    def escalation(self, event: str, conversation: ConversationKey) -> None:
        self.escalations.labels(conversation.platform, event).inc()

    def feedback(self, feedback: Feedback) -> None:
        self.feedback_votes.labels(feedback.prompt_version, _flag(feedback.helpful)).inc()

    def duplicate_delivery(self, source: str) -> None:
        self.duplicates.labels(source).inc()

    def reindexed(self, outcome: str, seconds: float, generation: int | None = None) -> None:
        self.reindexes.labels(outcome).inc()
        if outcome == "busy":
            return  # refused before it started: the last run's figures stand
        self.reindex_seconds.set(seconds)
        self.reindex_ok.set(1 if outcome == "ok" else 0)
        self.reindex_finished.set(time.time())
        if generation:
            self.index_generation.set(generation)

    @contextmanager
    def posting(self, platform: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        except BaseException:
            self.posts.labels(platform, "failed").inc()
            raise
        self.posts.labels(platform, "ok").inc()
        self.post_seconds.labels(platform).observe(time.perf_counter() - started)

    def _current_prompts(self, version: str) -> None:
        if version and version != self._prompt_version:
            if self._prompt_version:
                self.prompt_info.remove(self._prompt_version)
            self.prompt_info.labels(version).set(1)
            self._prompt_version = version


class _LateReplies(Collector):
    """A counter kept by RedisState (which knows nothing of Prometheus), read at each scrape."""

    def __init__(self, count: Callable[[], int]) -> None:
        self._count = count

    def collect(self):
        yield CounterMetricFamily(
            "supportbot_redis_late_replies", "Redis calls that went without state because this "
            "worker's event loop was too busy to read the reply in time (the breaker stayed closed)",
            value=self._count())


def _flag(value: bool) -> str:
    return "true" if value else "false"
