"""Concurrency: 200 distinct questions at once, with a fake model that takes 1 second to answer.

A core that never blocks its event loop finishes near 1 s plus the retrieval work; one that
blocks would take about 200 s. Runs on the sample knowledge base, state in process.

    .venv/bin/python bench/concurrency.py [--questions 200] [--model-seconds 1]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
import uuid
from pathlib import Path

from common import REPO, describe, quiet  # noqa: I001  (sets up sys.path)
from pydantic import SecretStr

from bot.answering.generation import ClaudeAnswerer
from bot.knowledge.embeddings import build_embeddings
from bot.settings import KnowledgeSource, RateLimitSettings, load_settings
from bot.types import ConversationKey, Inquiry
from bot.wiring import build_bot
from tests.fakes.anthropic_server import FakeAnthropic, Reply

TOPICS = ["returns of opened items", "refund timing", "standard shipping", "shipping to Canada",
          "tent warranty", "loyalty points", "changing an order", "payment methods",
          "deleting an account", "cleaning a down sleeping bag"]


async def run(count: int, model_seconds: float) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="supportbot-bench-conc-"))
    # Two streamed pieces, model_seconds apart: the whole reply takes model_seconds.
    reply = Reply("Per our policy, yes [1].", chunk_size=12, delay=model_seconds)
    with FakeAnthropic(default=reply) as fake:
        settings = load_settings(
            None, data_dir=workdir / "data", anthropic_api_key=SecretStr("bench"),
            knowledge=[KnowledgeSource(path=REPO / "config/knowledge/public", audience="public")],
            llm={"base_url": fake.base_url, "max_retries": 0, "model": "claude-bench", "timeout_s": 60},
            rate_limit=RateLimitSettings(enabled=False), prompts_dir=REPO / "prompts",
        )
        bot = build_bot(settings, embeddings=build_embeddings(settings.embeddings),
                        answerer=ClaudeAnswerer(settings), long_running=False)
        bot.reindex()
        questions = [f"What is your policy on {TOPICS[i % len(TOPICS)]}? (case {i})" for i in range(count)]

        async def ask(text: str) -> float:
            started = time.perf_counter()
            answer = await bot.answer(Inquiry(text=text, user_id=f"u{uuid.uuid4().hex[:6]}",
                                              conversation=ConversationKey("bench", "c", uuid.uuid4().hex)))
            modes[answer.mode] = modes.get(answer.mode, 0) + 1
            return (time.perf_counter() - started) * 1000

        modes: dict[str, int] = {}
        await ask("How long does a refund take?")  # warm up
        modes.clear()
        started = time.perf_counter()
        latencies = await asyncio.gather(*(ask(q) for q in questions))
        wall = time.perf_counter() - started
        calls = len(fake.requests) - 1
        await bot.close()
    shutil.rmtree(workdir, ignore_errors=True)
    print(f"{count} distinct questions at once, fake model {model_seconds:.1f} s per answer "
          f"({calls} model calls; answers by mode: {modes})")
    print(f"wall time: {wall:.2f} s  (serial would be ~{count * model_seconds:.0f} s; "
          f"{count * model_seconds / wall:.0f}x overlap)")
    print(f"per-question latency: {describe(latencies)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--model-seconds", type=float, default=1.0)
    args = parser.parse_args()
    quiet()
    asyncio.run(run(args.questions, args.model_seconds))


if __name__ == "__main__":
    main()
