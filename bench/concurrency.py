"""200 distinct questions at once, with a model that takes 1 second to answer.

The model is the local fake of Anthropic's Messages API (tests/fakes/anthropic_server.py) reached
through the real anthropic client and LangChain, streaming its reply over 1 second. A core that
never blocks the event loop finishes all of them in about 1 second plus the retrieval work (which
is CPU-bound and shared by 2 cores), not 200 seconds.

Prints: the wall time of the concurrent batch, the serial retrieval work for the same questions,
the model delay, and the ratio of the wall time to (model delay + retrieval work).

    .venv/bin/python bench/concurrency.py [--questions 200] [--delay 1.0]
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

from bot.logs import configure_logging  # noqa: E402

configure_logging("WARNING")  # figures on stdout, no per-answer log lines

from bot.knowledge.indexer import reindex  # noqa: E402
from bot.settings import KnowledgeSource, load_settings  # noqa: E402
from bot.types import ConversationKey, Inquiry  # noqa: E402
from bot.wiring import build_bot  # noqa: E402
from tests.fakes import anthropic_server  # noqa: E402

TOPICS = [
    "Can I return an opened item after 30 days", "How long does standard shipping take",
    "How much does the return label cost", "What does the warranty cover",
    "When is my card charged for an order", "How do I reset my password",
    "Do you ship to PO boxes", "How do loyalty points expire", "Can I change my shipping address",
    "How do I care for a down sleeping bag",
]


def questions(count: int) -> list[str]:
    # Distinct texts (so no cache can answer one from another), all on real policy topics.
    return [f"{TOPICS[i % len(TOPICS)]}? (order {1000 + i})" for i in range(count)]


async def ask_all(bot, texts: list[str]) -> list:
    inquiries = [Inquiry(text=t, conversation=ConversationKey("bench", "c", uuid.uuid4().hex), user_id="u")
                 for t in texts]
    return await asyncio.gather(*(bot.answer(i) for i in inquiries))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--delay", type=float, default=1.0, help="seconds the fake model takes")
    args = parser.parse_args()

    # 200 connections arrive at once; the stdlib server's default listen backlog of 5 would make
    # the kernel drop SYNs and the client retry a second later, which is the fake's limit, not ours.
    anthropic_server.ThreadingHTTPServer.request_queue_size = 1024
    reply = anthropic_server.Reply("Opened items can be returned within 30 days of delivery [1].",
                                   chunk_size=32, delay=args.delay)  # two pieces, `delay` apart
    with tempfile.TemporaryDirectory() as tmp, anthropic_server.FakeAnthropic(default=reply) as fake:
        settings = load_settings(
            None, data_dir=Path(tmp), prompts_dir=REPO / "prompts", anthropic_api_key="bench-key",
            knowledge=[KnowledgeSource(path=REPO / "config/knowledge/public", audience="public")],
            llm={"base_url": fake.base_url, "max_retries": 0, "timeout_s": 60},
            cache={"enabled": False},
        )
        bot = build_bot(settings)
        reindex(settings, bot.index, bot.embeddings)
        texts = questions(args.questions)

        asyncio.run(ask_all(bot, texts[:2]))  # warm-up: client, prompts, first ONNX run
        serial = []
        for text in texts:
            started = time.perf_counter()
            bot.retriever.retrieve(text, "public")
            serial.append(time.perf_counter() - started)
        retrieval_work = sum(serial)

        started = time.perf_counter()
        answers = asyncio.run(ask_all(bot, texts))
        wall = time.perf_counter() - started

    generated = sum(a.mode == "generated" for a in answers)
    per_answer = sorted(a.timings_ms.get("total", 0.0) / 1000 for a in answers)
    ideal = args.delay + retrieval_work
    print(f"questions at once           {args.questions} ({generated} answered by the model, "
          f"{sum(a.mode == 'declined' for a in answers)} declined)")
    print(f"model delay                 {args.delay:.2f} s")
    print(f"retrieval work (serial)     {retrieval_work:.2f} s  "
          f"(median {statistics.median(serial) * 1000:.1f} ms a question)")
    print(f"wall time, all at once      {wall:.2f} s")
    print(f"answer time median / p95    {statistics.median(per_answer):.2f} s / "
          f"{per_answer[int(0.95 * (len(per_answer) - 1))]:.2f} s")
    print(f"ratio wall / (delay + retrieval work)  {wall / ideal:.2f}")
    print(f"ratio wall / fully serial ({args.questions} x (delay + retrieval))  "
          f"{wall / (args.questions * args.delay + retrieval_work):.4f}")


if __name__ == "__main__":
    main()
