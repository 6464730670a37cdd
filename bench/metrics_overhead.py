"""What metrics cost an answer: the same questions through two bots in one run, one reporting to
Prometheus metrics (the default) and one to no observer, interleaved so drift hits both alike; plus
the observer call alone, timed in a tight loop.

Same set-up as bench/answer_latency.py: the sample knowledge base, the local fake Messages API
answering instantly through the real anthropic client, Redis from REDIS_URL (or 127.0.0.1:6379 if
one answers, else in-process). It checks that every timed answer is what it claims (a fresh
generated answer, or a cache hit) and that the metrics counted exactly the answers asked.

    .venv/bin/python bench/metrics_overhead.py [--rounds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from prometheus_client import generate_latest  # noqa: E402

from bench.answer_latency import QUESTIONS, bench_settings, percentile, redis_url  # noqa: E402
from bot.answering.generation import ClaudeAnswerer  # noqa: E402
from bot.knowledge.embeddings import build_embeddings  # noqa: E402
from bot.logs import configure_logging  # noqa: E402
from bot.ops.metrics import Metrics  # noqa: E402
from bot.ops.observer import Observer  # noqa: E402
from bot.types import Answer, Audience, ConversationKey, Inquiry  # noqa: E402
from bot.wiring import build_bot  # noqa: E402
from tests.fakes.anthropic_server import FakeAnthropic, Reply  # noqa: E402


async def timed(bot, text: str, *, cached: bool) -> float:
    inquiry = Inquiry(text=text, conversation=ConversationKey("bench", "c", uuid.uuid4().hex), user_id="bench")
    started = time.perf_counter()
    answer = await bot.answer(inquiry)
    elapsed = (time.perf_counter() - started) * 1000
    # A fresh answer from the model (or a decline: one sample question has no page), or a cache hit.
    assert answer.cached == cached and answer.mode in ("generated", "declined"), (answer.mode, answer.cached)
    assert cached or answer.mode == "declined" or "model" in answer.timings_ms
    return elapsed


def line(name: str, values: list[float], baseline: list[float] | None = None) -> str:
    median, p95 = statistics.median(values), percentile(values, 0.95)
    ratio = f"  x{median / statistics.median(baseline):.3f} median" if baseline else ""
    return f"{name:<34} {len(values):>5} {median:>9.2f} {p95:>9.2f}{ratio}"


async def run(rounds: int) -> None:
    url = redis_url()
    workdir = Path(tempfile.mkdtemp(prefix="supportbot-bench-"))
    with FakeAnthropic(default=Reply("Per our policy, yes [1].", chunk_size=64)) as fake:
        settings = bench_settings(workdir, fake, url)
        embeddings = build_embeddings(settings.embeddings)
        bots = {}
        for name, observer in (("with metrics", None), ("without metrics", Observer())):
            own = settings.model_copy(update={"redis": settings.redis.model_copy(
                update={"key_prefix": f"bench-{uuid.uuid4().hex[:8]}:"})})
            bots[name] = build_bot(own, embeddings=embeddings, answerer=ClaudeAnswerer(own), long_running=False,
                                   observer=observer)
        bots["with metrics"].reindex()  # one index directory: both bots read it
        for bot in bots.values():
            await timed(bot, "How do I delete my account? (warm-up)", cached=False)
        misses = {name: [] for name in bots}
        hits = {name: [] for name in bots}
        for round_number in range(rounds):
            order = list(bots) if round_number % 2 == 0 else list(reversed(bots))
            for text in QUESTIONS:
                question = f"{text} (case {round_number})"
                for name in order:  # the same question to both, alternating who goes first
                    misses[name].append(await timed(bots[name], question, cached=False))
                for name in order:
                    hits[name].append(await timed(bots[name], question, cached=True))
        metrics = bots["with metrics"].observer
        assert isinstance(metrics, Metrics)
        counted = sum(s.value for f in metrics.answers.collect() for s in f.samples if s.name.endswith("_total"))
        assert counted == 1 + 2 * rounds * len(QUESTIONS), counted  # every timed answer, nothing else
        assert b"supportbot_stage_seconds_bucket" in generate_latest(metrics.registry)
        for bot in bots.values():
            await bot.close()

    print(f"Answer latency with and without Prometheus metrics, {rounds} rounds x {len(QUESTIONS)} questions, "
          f"Redis: {url or 'in-process'}")
    print(f"{'':<34} {'n':>5} {'p50 ms':>9} {'p95 ms':>9}")
    print(line("cache miss, without metrics", misses["without metrics"]))
    print(line("cache miss, with metrics", misses["with metrics"], misses["without metrics"]))
    print(line("cache hit, without metrics", hits["without metrics"]))
    print(line("cache hit, with metrics", hits["with metrics"], hits["without metrics"]))

    inquiry, answer = sample_answer()
    calls = 20_000
    started = time.perf_counter()
    for _ in range(calls):
        metrics.answered(inquiry, answer)
    per_call_us = (time.perf_counter() - started) / calls * 1e6
    print(f"Metrics.answered() alone (8 stage timings): {per_call_us:.1f} µs per answer")


def sample_answer():
    """A representative answer to feed the observer: generated, with every stage timed."""
    answer = Answer(text="x", sources=[], grounded=True, answer_id="a", prompt_version="v", standalone_question="q",
                    mode="generated", audience=Audience.PUBLIC, generation=3,
                    timings_ms={"rewrite": 0.1, "embed": 9.0, "search": 1.5, "model_first_token": 200.0,
                                "model": 900.0, "answer": 905.0, "total": 920.0})
    inquiry = Inquiry(text="q", conversation=ConversationKey("bench", "c", "t"), user_id="u")
    return inquiry, answer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    configure_logging("ERROR")
    asyncio.run(run(args.rounds))


if __name__ == "__main__":
    main()
