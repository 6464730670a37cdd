"""How well `supportbot report` groups questions by meaning, and which threshold to use.

Tuning set: doc2dial's first questions of each dialogue (322, four domains), where questions about
the same gold page belong together, as questions a missing page would answer do. The threshold
(average cosine similarity within a group) is chosen by leave-one-domain-out cross-validation:
picked on three domains, scored on the fourth. Held-out check: tests/data/gap_questions.jsonl,
CLINC150 off-topic requests and doc2dial unanswerable questions grouped by intent by hand, never
used for tuning. Scores are pair precision / recall / F1 (two questions in one group that belong
together, and the other way round), beside a baseline: every question alone.

    .venv/bin/python bench/gap_clustering.py [--questions ../shared/data/doc2dial/questions_dev.jsonl]
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import time
from pathlib import Path

import numpy as np

from bot.knowledge.embeddings import build_embeddings, embed_texts
from bot.reporting.clustering import DEFAULT_MIN_SIMILARITY, cluster
from bot.settings import EmbeddingSettings

THRESHOLDS = [round(0.30 + 0.05 * i, 2) for i in range(9)]  # 0.30 .. 0.70
FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "data" / "gap_questions.jsonl"


def pair_scores(labels: list[str], groups: list[list[int]]) -> tuple[float, float, float]:
    gold = {(i, j) for i, j in itertools.combinations(range(len(labels)), 2) if labels[i] == labels[j]}
    found = {tuple(sorted(p)) for g in groups for p in itertools.combinations(g, 2)}
    right = len(gold & found)
    precision = right / len(found) if found else 1.0
    recall = right / len(gold) if gold else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=Path, default=Path("../shared/data/doc2dial/questions_dev.jsonl"))
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.questions.read_text(encoding="utf-8").splitlines()]
    first = [r for r in rows if r["answerable"] and not r["history"]]
    embeddings = build_embeddings(EmbeddingSettings())
    domains = sorted({r["domain"] for r in first})
    data = {}
    for domain in domains:
        chosen = [r for r in first if r["domain"] == domain]
        data[domain] = ([r["gold_doc_ids"][0].split("#")[0] for r in chosen],
                        embed_texts(embeddings, [r["question"] for r in chosen]))
    table = {(d, t): pair_scores(data[d][0], cluster(data[d][1], t)) for d in domains for t in THRESHOLDS}

    print(f"{'threshold':>9} " + " ".join(f"{d + ' P/R/F1':>22}" for d in domains))
    for t in THRESHOLDS:
        print(f"{t:>9.2f} " + " ".join(f"{'%.2f/%.2f/%.2f' % table[d, t]:>22}" for d in domains))
    held_out = []
    for test in domains:
        train = [d for d in domains if d != test]
        best = max(THRESHOLDS, key=lambda t: statistics.mean(table[d, t][2] for d in train))
        held_out.append((test, best, table[test, best][2], pair_scores(data[test][0], [[i] for i in
                                                                                       range(len(data[test][0]))])[2]))
    print("\nleave-one-domain-out: threshold picked on the other three, F1 on this one (baseline: all alone)")
    for test, best, f1, alone in held_out:
        print(f"  {test:<11} threshold {best:.2f}  F1 {f1:.2f}  (alone {alone:.2f})")
    f1s = [h[2] for h in held_out]
    print(f"  mean F1 {statistics.mean(f1s):.2f}, spread {min(f1s):.2f}-{max(f1s):.2f}; "
          f"thresholds picked: {sorted({h[1] for h in held_out})}; shipped default {DEFAULT_MIN_SIMILARITY}")

    fixture = [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines()]
    vectors = embed_texts(embeddings, [r["text"] for r in fixture])
    labels = [r["group"] for r in fixture]
    started = time.perf_counter()
    groups = cluster(vectors, DEFAULT_MIN_SIMILARITY)
    took = (time.perf_counter() - started) * 1000
    p, r, f1 = pair_scores(labels, groups)
    print(f"\nheld-out fixture ({len(fixture)} questions, {len(set(labels))} intents) at the default: "
          f"P {p:.2f} R {r:.2f} F1 {f1:.2f}, {len(groups)} groups, {took:.1f} ms")
    assert sum(len(g) for g in groups) == len(fixture)  # every question in exactly one group

    rng = np.random.default_rng(7)
    big = np.repeat(vectors, 47, axis=0) + rng.normal(scale=0.03, size=(len(vectors) * 47, vectors.shape[1]))
    started = time.perf_counter()
    grouped = cluster(big.astype(np.float32), DEFAULT_MIN_SIMILARITY)
    print(f"{len(big)} questions (the report's cap is 3,000): clustered in "
          f"{time.perf_counter() - started:.2f} s into {len(grouped)} groups")


if __name__ == "__main__":
    main()
