"""A thread's two query texts embedded in one padded batch (before) or by length (now).

The retriever embeds a message's own words and the thread's context (up to 256 tokens) together.
In one batch the short text is padded to the long one's length; batches by length embed it
alone. Same questions, alternating in the same run; asserts the vectors are the same.

    .venv/bin/python bench/query_padding.py [--questions 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.logs import configure_logging  # noqa: E402

configure_logging("WARNING")

import numpy as np  # noqa: E402

from bot.answering.standalone import deterministic_standalone, split_standalone  # noqa: E402
from bot.evaluation.datasets import load_questions  # noqa: E402
from bot.knowledge.embeddings import build_embeddings  # noqa: E402
from bot.settings import EmbeddingSettings  # noqa: E402

QUESTIONS = REPO / "eval" / "data" / "doc2dial" / "questions_dev.jsonl"


def thread_queries(count: int) -> list[list[str]]:
    """[own words, thread context] of dev questions asked in a thread, as the retriever forms them."""
    pairs = []
    for case in load_questions(QUESTIONS):
        own, earlier = split_standalone(deterministic_standalone(case.question, list(case.history)))
        if earlier:
            pairs.append([own, " ".join([*earlier, own])])
        if len(pairs) == count:
            break
    return pairs


def timed(embed, pairs: list[list[str]]) -> tuple[list[float], list[np.ndarray]]:
    times, vectors = [], []
    for pair in pairs:
        started = time.perf_counter()
        vectors.append(embed(pair))
        times.append((time.perf_counter() - started) * 1000)
    return times, vectors


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    model = build_embeddings(EmbeddingSettings())
    pairs = thread_queries(args.questions)
    assert all(len(model.batches(pair)) == 2 for pair in pairs if len(pair[1]) > 2 * max(len(pair[0]), 64))
    one_batch = lambda pair: model._encode(pair)  # noqa: E731  (the previous behaviour)
    by_length = model.embed_array
    timed(by_length, pairs[:10])  # warm up
    before, now = [], []
    for _ in range(args.rounds):
        times, old_vectors = timed(one_batch, pairs)
        before += times
        times, new_vectors = timed(by_length, pairs)
        now += times
        assert all(np.allclose(a, b, atol=1e-5) for a, b in zip(old_vectors, new_vectors)), "vectors differ"
    figures = {
        "pairs": len(pairs), "rounds": args.rounds,
        "context_chars_median": statistics.median(len(p[1]) for p in pairs),
        "one_batch_ms": {"p50": round(float(np.percentile(before, 50)), 2), "p95": round(float(np.percentile(before, 95)), 2)},
        "by_length_ms": {"p50": round(float(np.percentile(now, 50)), 2), "p95": round(float(np.percentile(now, 95)), 2)},
    }
    figures["speedup_p50"] = round(figures["one_batch_ms"]["p50"] / figures["by_length_ms"]["p50"], 2)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
