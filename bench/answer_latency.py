"""Answer latency through SupportBot: cache miss against cache hit, in one run.

A third row answers with Redis hung (a socket that accepts and never replies): the first answer
pays one socket timeout, the rest skip Redis until it is back.

The model is the local fake Messages API from tests/fakes answering instantly, reached through
the real anthropic client, so the figures are the bot's own overhead: Redis, embedding,
retrieval, prompt rendering, the HTTP round trip and citation handling. State lives in the Redis
named by REDIS_URL, or 127.0.0.1:6379 if one answers there, else in-process fakeredis.

    .venv/bin/python bench/answer_latency.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pydantic import SecretStr  # noqa: E402

from bench.checks import percentile, require  # noqa: E402
from bot.answering.generation import ClaudeAnswerer  # noqa: E402
from bot.knowledge.embeddings import build_embeddings  # noqa: E402
from bot.logs import configure_logging  # noqa: E402
from bot.settings import KnowledgeSource, RateLimitSettings, load_settings  # noqa: E402
from bot.types import ConversationKey, Inquiry  # noqa: E402
from bot.wiring import build_bot  # noqa: E402
from tests.fakes.anthropic_server import FakeAnthropic, Reply  # noqa: E402
from tests.fakes.tcp import SwitchableProxy  # noqa: E402

QUESTIONS = [
    "Can I return an opened item after 30 days?",
    "How long does a refund take?",
    "How long does standard shipping take?",
    "Do you ship to Canada?",
    "How long is the warranty on tents?",
    "How do I earn loyalty points?",
    "Can I change my order after placing it?",
    "Which payment methods do you accept?",
    "How do I delete my account?",
    "How should I clean a down sleeping bag?",
]


def redis_url() -> str | None:
    import os

    import redis

    if url := os.environ.get("REDIS_URL"):
        return url
    try:
        redis.Redis(socket_connect_timeout=0.5).ping()
        return "redis://127.0.0.1:6379/0"
    except redis.exceptions.ConnectionError:
        return None


async def measure(bot, questions: list[str], *, cached: bool | None = None) -> list[float]:
    """Answer times in ms; with `cached`, the bench stops (exit 1) unless every answer was a cache
    hit (True) or every one was computed afresh (False): a row named "hit" holds only hits."""
    timings = []
    for text in questions:
        inquiry = Inquiry(text=text, conversation=ConversationKey("bench", "c", uuid.uuid4().hex),
                          user_id="bench")
        started = time.perf_counter()
        answer = await bot.answer(inquiry)
        timings.append((time.perf_counter() - started) * 1000)
        require(answer.mode in ("generated", "declined"), f"{text!r} was answered in mode {answer.mode}")
        require(cached is None or answer.cached is cached,
                f"{text!r}: expected a cache {'hit' if cached else 'miss'}, got cached={answer.cached}")
    return timings


def bench_settings(workdir: Path, fake: FakeAnthropic, url: str | None):
    return load_settings(
        None, data_dir=workdir / "data", anthropic_api_key=SecretStr("bench"),
        knowledge=[KnowledgeSource(path=REPO / "config/knowledge/public", audience="public")],
        llm={"base_url": fake.base_url, "max_retries": 0, "model": "claude-bench"},
        rate_limit=RateLimitSettings(enabled=False),
        redis={"key_prefix": f"bench-{uuid.uuid4().hex[:8]}:"},
        **({"redis_url": SecretStr(url)} if url else {}),
    )


async def run(rounds: int) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="supportbot-bench-"))
    url = redis_url()
    embeddings = None
    with FakeAnthropic(default=Reply("Per our policy, yes [1].", chunk_size=64)) as fake:
        settings = bench_settings(workdir, fake, url)
        embeddings = build_embeddings(settings.embeddings)
        bot = build_bot(settings, embeddings=embeddings, answerer=ClaudeAnswerer(settings),
                        long_running=False)
        bot.reindex()
        await measure(bot, QUESTIONS[:2])  # warm up: imports, HTTP connection, ONNX session

        misses, hits = [], []
        for round_number in range(rounds):
            fresh = [f"{q} (case {round_number})" for q in QUESTIONS]  # new keys: every one a miss
            asked = len(fake.requests)
            misses += await measure(bot, fresh, cached=False)
            require(len(fake.requests) > asked, "no cache miss reached the model")
            asked = len(fake.requests)
            hits += await measure(bot, fresh, cached=True)
            require(len(fake.requests) == asked, "a cache hit called the model")
        await _forget(bot)
        await bot.close()

        hung = SwitchableProxy(mode="hang")
        stuck = build_bot(bench_settings(workdir, fake, hung.url), embeddings=embeddings,
                          answerer=ClaudeAnswerer(settings), long_running=False)
        outage = await measure(stuck, [f"{q} (outage)" for q in QUESTIONS * rounds])
        timeout_ms = (stuck.settings.redis.connect_timeout_s + stuck.settings.redis.socket_timeout_s) * 1000
        await stuck.close()
        hung.close()
    shutil.rmtree(workdir, ignore_errors=True)
    report(misses, hits, url or "in-process fakeredis", fake_calls=len(fake.requests))
    print(f"Redis hung: first answer {outage[0]:.0f} ms (socket budget {timeout_ms:.0f} ms), "
          f"then p50 {statistics.median(outage[1:]):.1f} ms, p95 {percentile(outage[1:], 0.95):.1f} ms "
          f"over {len(outage) - 1} answers without state")


async def _forget(bot) -> None:
    """Remove the bench's keys from a shared Redis."""
    redis = bot.state.redis
    keys = [key async for key in redis.client.scan_iter(match=redis.prefix + "*", count=1000)]
    if keys:
        await redis.client.delete(*keys)


def report(misses: list[float], hits: list[float], where: str, fake_calls: int) -> None:
    rows = [("cache miss", misses), ("cache hit", hits)]
    print(f"Answer latency through SupportBot, zero-latency fake model, state in {where}")
    print(f"{'':12}{'n':>5}{'p50 ms':>10}{'p95 ms':>10}{'mean ms':>10}")
    for name, values in rows:
        print(f"{name:12}{len(values):>5}{statistics.median(values):>10.1f}"
              f"{percentile(values, 0.95):>10.1f}{statistics.fmean(values):>10.1f}")
    p50 = statistics.median(misses) / statistics.median(hits)
    p95 = percentile(misses, 0.95) / percentile(hits, 0.95)
    print(f"miss/hit ratio: p50 {p50:.1f}x, p95 {p95:.1f}x  (model calls: {fake_calls})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="passes over the question set")
    args = parser.parse_args()
    configure_logging("ERROR")
    asyncio.run(run(args.rounds))


if __name__ == "__main__":
    main()
