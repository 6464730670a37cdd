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
and p95 answer time, the bot process's CPU per answer, and the serial retrieval work for the same
number of questions. Several throughput settings or model transports given at once are compared in
the same run, alternating.

It also prints the CPU floor: the bot's work for a burst is CPU that the machine's cores share, so
no burst can finish before delay + questions x (bot CPU per answer) / cores. Beside it, the part of
that CPU that embedding the question costs (measured in the same run, in batches of the batcher's
size) and the rest; a target below the floor cannot be met without cutting CPU per answer. The
rest is mostly Python on the event loop, which holds the interpreter lock and so uses one core:
delay + questions x rest is the floor if none of it overlaps.

    .venv/bin/python bench/concurrency.py [--questions 200] [--delay 1.0] [--runs 3]
    .venv/bin/python bench/concurrency.py --questions 1000
    .venv/bin/python bench/concurrency.py --max-preparing 2 8 --batching on off   # compared in one run
    .venv/bin/python bench/concurrency.py --transport httpx aiohttp                # [llm] http_transport
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
from bot.knowledge.embeddings import embed_texts  # noqa: E402
from bot.knowledge.indexer import reindex  # noqa: E402
from bot.settings import KnowledgeSource, load_settings  # noqa: E402
from bot.types import ConversationKey, Inquiry  # noqa: E402
from bot.wiring import build_bot  # noqa: E402
from bench.model_process import ModelProcess  # noqa: E402
from tests import redis_server  # noqa: E402

TOPICS = [
    "Can I return an opened item after 30 days", "How long does standard shipping take",
    "How much does the return label cost", "What does the warranty cover on tents",
    "When is my card charged for an order", "How do I reset my password",
    "Do you ship to PO boxes", "How do loyalty points expire", "Can I change my shipping address",
    "How do I wash a down sleeping bag",  # "care for" was declined with 15 of 1,200 order numbers
]
# Every topic is answered with every order number the runs use (the bench checks it): after the
# decline refit of issue 14's sixth pass, "What does the warranty cover" was declined with 2 of
# 1,200, and "on tents" names the page.
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
    connections = fake.connections()
    model_cpu = fake.cpu_seconds()
    started, cpu = time.perf_counter(), time.process_time()
    answers = await ask_all(bot, texts)
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu
    model_cpu = fake.cpu_seconds() - model_cpu
    modes = {mode: sum(a.mode == mode for a in answers) for mode in {a.mode for a in answers}}
    require(len(answers) == len(texts) and modes.get("generated", 0) == len(texts),
            f"{len(texts)} questions, answers by mode {modes}: not all answered by the model")
    asked = fake.requests_served() - asked_before
    require(asked == len(texts), f"the model was asked {asked} times for {len(texts)} questions")
    per_answer = [a.timings_ms["total"] / 1000 for a in answers]
    return {"wall": wall, "median": statistics.median(per_answer), "p95": percentile(per_answer, 0.95),
            "max": max(per_answer), "cpu_ms": cpu / len(texts) * 1000, "model_cpu_ms": model_cpu / len(texts) * 1000,
            "load": os.getloadavg()[0], "connections": fake.connections() - connections}


def serial_retrieval(bot, texts: list[str]) -> float:
    started = time.perf_counter()
    for text in texts:
        bot.retriever.retrieve(text, "public")
    return time.perf_counter() - started


def embedding_cpu_ms(bot, texts: list[str]) -> float:
    """CPU (all of the process's threads: ONNX's too) per question to embed the questions in
    batches of throughput.query_batch_max, as the batcher hands them to the model in a burst."""
    model = getattr(bot.embeddings, "inner", bot.embeddings)  # past the batcher: no queueing timed
    size = bot.settings.throughput.query_batch_max
    cpu = time.process_time()
    for start in range(0, len(texts), size):
        embed_texts(model, texts[start:start + size])
    return (time.process_time() - cpu) / len(texts) * 1000


async def bench(args, variants: dict[str, object], fake) -> tuple[dict[str, list[dict[str, float]]], dict[str, list[float]]]:
    """Every run asks a fresh burst of each variant in turn (the order rotating from run to run),
    so the variants are compared under the same machine load."""
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
    serial: dict[str, list[float]] = {"retrieval": [], "embedding_ms": []}
    bots = {name: build_bot(settings) for name, settings in variants.items()}
    try:
        for name, bot in bots.items():
            reindex(variants[name], bot.index, bot.embeddings)  # the second finds nothing changed
            await one_run(bot, fake, questions(4, 9))  # warm-up: client, prompts, first ONNX runs
        names = list(bots)
        for run in range(args.runs):
            # Off the event loop: run on it, these ~10 s of work left a Redis reply from the previous
            # burst unread past the socket timeout.
            serial["retrieval"].append(await asyncio.to_thread(serial_retrieval, bots[names[0]],
                                                               questions(args.questions, 0)))
            serial["embedding_ms"].append(await asyncio.to_thread(embedding_cpu_ms, bots[names[0]],
                                                                  questions(args.questions, 5)))
            for turn, name in enumerate(names[run % len(names):] + names[:run % len(names)]):
                figures = await one_run(bots[name], fake, questions(args.questions, 10 * run + turn + 1))
                runs[name].append(figures)
                print(f"run {run + 1}, {name}: wall {figures['wall']:.2f} s, answer time median "
                      f"{figures['median']:.2f} s, p95 {figures['p95']:.2f} s, max {figures['max']:.2f} s; "
                      f"CPU per answer: bot process {figures['cpu_ms']:.1f} ms, fake model process "
                      f"{figures['model_cpu_ms']:.1f} ms; {figures['connections']} new connections to the "
                      f"model; load average {figures['load']:.1f}", flush=True)
            print(f"run {run + 1}: serial retrieval work {serial['retrieval'][-1]:.2f} s, embedding CPU "
                  f"{serial['embedding_ms'][-1]:.1f} ms a question", flush=True)
    finally:
        for bot in bots.values():
            await bot.close()
    return runs, serial


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--delay", type=float, default=1.0, help="seconds the fake model takes")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--max-preparing", type=int, nargs="+", help="throughput.max_preparing value(s) to "
                        "compare (default: the setting's)")
    parser.add_argument("--batching", choices=["on", "off"], nargs="+", default=["on"],
                        help="throughput.query_batching value(s) to compare")
    parser.add_argument("--transport", choices=["aiohttp", "httpx"], nargs="+",
                        help="llm.http_transport value(s) to compare (default: the setting's)")
    args = parser.parse_args()

    started_redis = None if os.environ.get("REDIS_URL") else redis_server.start()
    redis_url = os.environ.get("REDIS_URL") or started_redis.url
    with tempfile.TemporaryDirectory() as tmp, ModelProcess(delay=args.delay) as fake:
        def settings_for(throughput: dict, llm: dict):
            return load_settings(
                None, data_dir=Path(tmp), prompts_dir=REPO / "prompts", anthropic_api_key="bench-key",
                knowledge=[KnowledgeSource(path=REPO / "config/knowledge/public", audience="public")],
                llm={"base_url": fake.base_url, "max_retries": 0, "timeout_s": 60, **llm},
                cache={"enabled": False}, redis_url=redis_url, throughput=throughput,
                redis={"key_prefix": f"bench-{uuid.uuid4().hex[:8]}:", "max_connections": 1000},
            )

        defaults = settings_for({}, {})
        variants = {f"max_preparing {mp}, batching {b}, transport {t}":
                    settings_for({"max_preparing": mp, "query_batching": b == "on"}, {"http_transport": t})
                    for mp in (args.max_preparing or [defaults.throughput.max_preparing])
                    for b in args.batching for t in (args.transport or [defaults.llm.http_transport])}
        runs, serial = asyncio.run(bench(args, variants, fake))
    if started_redis:
        started_redis.stop()
    report(args, runs, serial, defaults.throughput.query_batch_max)


def report(args, runs: dict[str, list[dict[str, float]]], serial: dict[str, list[float]], batch: int) -> None:
    retrieval, cores = serial["retrieval"], os.cpu_count() or 1
    embedding_ms = statistics.median(serial["embedding_ms"])
    print(f"\nquestions at once           {args.questions} from {args.questions} users, every one "
          f"answered by the model (checked), model delay {args.delay:.2f} s; {os.cpu_count()} cores, "
          f"load average at the end {os.getloadavg()[0]:.1f}")
    print(f"retrieval work (serial)     {spread(retrieval)}  "
          f"({statistics.median(retrieval) / args.questions * 1000:.1f} ms a question)")
    print(f"embedding CPU / question    {spread(serial['embedding_ms'], 'ms', 1)}  (batches of "
          f"{batch}, as the batcher runs them)")
    first = None
    for name, figures in runs.items():
        wall = [r["wall"] for r in figures]
        medians = [r["median"] for r in figures]
        print(f"\n{name}")
        print(f"  wall time, all at once    {spread(wall)}")
        print(f"  answer time median        {spread(medians)}")
        print(f"  answer time p95           {spread([r['p95'] for r in figures])}")
        print(f"  bot process CPU / answer  {spread([r['cpu_ms'] for r in figures], 'ms', 1)}")
        print(f"  model process CPU / answer {spread([r['model_cpu_ms'] for r in figures], 'ms', 1)}")
        cpu_ms = statistics.median([r["cpu_ms"] for r in figures])
        floor = args.delay + args.questions * cpu_ms / 1000 / cores
        target = ""
        if args.delay == 1.0 and args.questions in WALL_TARGETS:
            goal = WALL_TARGETS[args.questions]
            target = f"; target {goal:g} s {'within reach' if floor <= goal else 'below the floor: not reachable'}"
        print(f"  of which embedding / rest {embedding_ms:.1f} / {cpu_ms - embedding_ms:.1f} ms")
        print(f"  CPU floor on {cores} cores      {floor:.2f} s = {args.delay:g} s + {args.questions} x "
              f"{cpu_ms:.1f} ms / {cores}{target}")
        # Most of the rest runs on the event loop holding the interpreter lock: one core at a time.
        print(f"  one-core floor of the rest  {args.delay + args.questions * (cpu_ms - embedding_ms) / 1000:.2f} s "
              f"= {args.delay:g} s + {args.questions} x {cpu_ms - embedding_ms:.1f} ms, if none of it ran beside "
              "the interpreter lock")
        print(f"  ratio wall / (delay + serial retrieval work)  "
              f"{statistics.median(wall) / (args.delay + statistics.median(retrieval)):.2f}")
        if first is None:
            first = (name, statistics.median(wall), statistics.median(medians))
        else:
            print(f"  ratio to {first[0]}: wall {statistics.median(wall) / first[1]:.2f}, "
                  f"answer time median {statistics.median(medians) / first[2]:.2f}")
        if args.delay == 1.0 and args.questions in WALL_TARGETS:
            print(f"  wall time median          {verdict(statistics.median(wall), WALL_TARGETS[args.questions])}")
            if args.questions == 200:
                print(f"  answer time median        {verdict(statistics.median(medians), MEDIAN_TARGET_200)}")
            else:
                print(f"  answer time p95           "
                      f"{verdict(statistics.median([r['p95'] for r in figures]), P95_TARGET_1000)}")


if __name__ == "__main__":
    main()
