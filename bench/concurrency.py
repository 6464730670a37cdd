"""Many distinct questions at once, from distinct users, with a model that takes 1 second.

The model is the local fake of Anthropic's Messages API (tests/fakes/anthropic_server.py) in a
process of its own (bench/model_process.py), reached through the real anthropic client and
LangChain, streaming its reply over `--delay` seconds. State lives in a real Redis: REDIS_URL, or
a throwaway server started from the test extra's binary (as the tests do). A core
that never blocks the event loop finishes a burst in about the model delay plus the retrieval work
(CPU-bound, shared by the machine's cores), and each question's own answer time is its retrieval
plus the model, not the whole burst's.

Each run asks a fresh set of questions (distinct texts, so no cache could answer one from another;
the cache is off anyway) from distinct users (so the rate limiter lets every one through). The
bench checks what it timed and exits 1 otherwise: every question answered by the model, the fake
model asked exactly once per question, no error.

Prints per run and, over the runs, min / median / max of: the wall time of the burst, the median
and p95 answer time, and the serial retrieval work for the same questions.

    .venv/bin/python bench/concurrency.py [--questions 200] [--delay 1.0] [--runs 3]
    .venv/bin/python bench/concurrency.py --questions 1000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.logs import configure_logging  # noqa: E402

configure_logging("WARNING")  # figures on stdout, no per-answer log lines

from bench.checks import percentile, require, spread, verdict  # noqa: E402
from bot.knowledge.indexer import reindex  # noqa: E402
from bot.settings import KnowledgeSource, load_settings  # noqa: E402
from bot.types import ConversationKey, Inquiry  # noqa: E402
from bot.wiring import build_bot  # noqa: E402
from bench.model_process import ModelProcess  # noqa: E402
from tests import redis_server  # noqa: E402

TOPICS = [
    "Can I return an opened item after 30 days", "How long does standard shipping take",
    "How much does the return label cost", "What does the warranty cover",
    "When is my card charged for an order", "How do I reset my password",
    "Do you ship to PO boxes", "How do loyalty points expire", "Can I change my shipping address",
    "How do I care for a down sleeping bag",
]
# The targets on this 2-core machine with a 1 s model (wall time by burst size).
WALL_TARGETS = {200: 1.6, 1000: 3.0}
MEDIAN_TARGET_200 = 1.3
P95_TARGET_1000 = 2.5


def questions(count: int, run: int) -> list[str]:
    # Distinct texts (so no cache can answer one from another), all on real policy topics.
    return [f"{TOPICS[i % len(TOPICS)]}? (order {run}{1000 + i})" for i in range(count)]


async def ask_all(bot, texts: list[str]) -> list:
    # One user per question: the rate limiter would turn a second question from one user into a
    # "busy" reply, and the bench would time those instead of answers.
    inquiries = [Inquiry(text=t, conversation=ConversationKey("bench", "c", uuid.uuid4().hex),
                         user_id=f"user-{uuid.uuid4().hex}") for t in texts]
    return await asyncio.gather(*(bot.answer(i) for i in inquiries))


async def one_run(bot, fake, texts: list[str]) -> dict[str, float]:
    asked_before = fake.requests_served()
    started = time.perf_counter()
    answers = await ask_all(bot, texts)
    wall = time.perf_counter() - started
    modes = {mode: sum(a.mode == mode for a in answers) for mode in {a.mode for a in answers}}
    require(len(answers) == len(texts) and modes.get("generated", 0) == len(texts),
            f"{len(texts)} questions, answers by mode {modes}: not all answered by the model")
    asked = fake.requests_served() - asked_before
    require(asked == len(texts), f"the model was asked {asked} times for {len(texts)} questions")
    per_answer = [a.timings_ms["total"] / 1000 for a in answers]
    return {"wall": wall, "median": statistics.median(per_answer), "p95": percentile(per_answer, 0.95),
            "max": max(per_answer)}


def serial_retrieval(bot, texts: list[str]) -> float:
    started = time.perf_counter()
    for text in texts:
        bot.retriever.retrieve(text, "public")
    return time.perf_counter() - started


async def bench(args, settings, fake) -> tuple[list[dict[str, float]], list[float]]:
    runs, retrieval = [], []
    bot = build_bot(settings)
    try:
        reindex(settings, bot.index, bot.embeddings)
        await one_run(bot, fake, questions(4, 9))  # warm-up: client, prompts, first ONNX runs
        for run in range(args.runs):
            texts = questions(args.questions, run)
            retrieval.append(serial_retrieval(bot, texts))
            figures = await one_run(bot, fake, texts)
            runs.append(figures)
            print(f"run {run + 1}: wall {figures['wall']:.2f} s, answer time median {figures['median']:.2f} s, "
                  f"p95 {figures['p95']:.2f} s, max {figures['max']:.2f} s; "
                  f"serial retrieval work {retrieval[-1]:.2f} s", flush=True)
    finally:
        await bot.close()
    return runs, retrieval


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--delay", type=float, default=1.0, help="seconds the fake model takes")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--max-preparing", type=int, help="throughput.max_preparing (default: the setting's)")
    parser.add_argument("--no-batching", action="store_true", help="throughput.query_batching = false")
    args = parser.parse_args()

    throughput = {"query_batching": not args.no_batching}
    if args.max_preparing:
        throughput["max_preparing"] = args.max_preparing
    started_redis = None if os.environ.get("REDIS_URL") else redis_server.start()
    redis_url = os.environ.get("REDIS_URL") or started_redis.url
    with tempfile.TemporaryDirectory() as tmp, ModelProcess(delay=args.delay) as fake:
        settings = load_settings(
            None, data_dir=Path(tmp), prompts_dir=REPO / "prompts", anthropic_api_key="bench-key",
            knowledge=[KnowledgeSource(path=REPO / "config/knowledge/public", audience="public")],
            llm={"base_url": fake.base_url, "max_retries": 0, "timeout_s": 60},
            cache={"enabled": False}, redis_url=redis_url, throughput=throughput,
            redis={"key_prefix": f"bench-{uuid.uuid4().hex[:8]}:", "max_connections": 1000},
        )
        runs, retrieval = asyncio.run(bench(args, settings, fake))
    if started_redis:
        started_redis.stop()

    wall = [r["wall"] for r in runs]
    print(f"\nquestions at once           {args.questions} from {args.questions} users, every one "
          f"answered by the model (checked), model delay {args.delay:.2f} s")
    print(f"settings                    max_preparing {settings.throughput.max_preparing}, query batching "
          f"{'on' if settings.throughput.query_batching else 'off'}; {os.cpu_count()} cores, "
          f"load average at the end {os.getloadavg()[0]:.1f}")
    print(f"wall time, all at once      {spread(wall)}")
    print(f"answer time median          {spread([r['median'] for r in runs])}")
    print(f"answer time p95             {spread([r['p95'] for r in runs])}")
    print(f"retrieval work (serial)     {spread(retrieval)}  "
          f"({statistics.median(retrieval) / args.questions * 1000:.1f} ms a question)")
    print(f"ratio wall / (delay + serial retrieval work)  "
          f"{statistics.median(wall) / (args.delay + statistics.median(retrieval)):.2f}")
    if args.delay == 1.0 and args.questions in WALL_TARGETS:
        print(f"wall time median            {verdict(statistics.median(wall), WALL_TARGETS[args.questions])}")
        if args.questions == 200:
            print(f"answer time median          "
                  f"{verdict(statistics.median([r['median'] for r in runs]), MEDIAN_TARGET_200)}")
        else:
            print(f"answer time p95             "
                  f"{verdict(statistics.median([r['p95'] for r in runs]), P95_TARGET_1000)}")


if __name__ == "__main__":
    main()
