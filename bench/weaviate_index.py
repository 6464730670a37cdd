"""Search and full-rebuild latency: WeaviateIndex against the local index, in the same run.

    python -m bench.weaviate_index [--rounds 200]

Indexes the sample knowledge base (config/knowledge) into the local index and into Weaviate, then
times the same searches (query vectors embedded once, beforehand) and a full rebuild. Weaviate is
the real one when WEAVIATE_URL is set, else the wire-protocol fake from tests/fakes (which measures
the client's REST/gRPC path and the fake's Python search, not Weaviate's engine).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from bot.knowledge.embeddings import build_embeddings, embed_query
from bot.knowledge.indexer import reindex
from bot.knowledge.stores.local import LocalHybridIndex
from bot.knowledge.stores.protocol import SearchQuery
from bot.knowledge.stores.weaviate.store import WeaviateStore
from bot.settings import EmbeddingSettings, WeaviateSettings, load_settings
from bot.types import Audience

QUESTIONS = [
    "Can I return an opened item after 30 days?", "How much does shipping cost?",
    "How do I reset my password?", "Is there a warranty on tents?", "What is the restocking fee?",
    "Can I change my delivery address?", "Do you ship to Canada?", "How do refunds work?",
]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def time_searches(index, queries: list[SearchQuery], rounds: int) -> list[float]:
    timings = []
    for i in range(rounds):
        started = time.perf_counter()
        index.search(queries[i % len(queries)])
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    embeddings = build_embeddings(EmbeddingSettings())
    fake = None
    if os.environ.get("WEAVIATE_URL"):
        weaviate_settings = WeaviateSettings(url=os.environ["WEAVIATE_URL"],
                                             api_key=os.environ.get("WEAVIATE_API_KEY"),
                                             collection=f"Sbbench{uuid.uuid4().hex[:8]}")
        label = f"Weaviate at {weaviate_settings.url}"
    else:
        from tests.fakes.weaviate_server import VERSION, FakeWeaviate

        fake = FakeWeaviate().start()
        weaviate_settings = WeaviateSettings(url=fake.url, grpc_port=fake.grpc_port)
        label = f"fake Weaviate {VERSION} (tests/fakes)"
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(None, data_dir=Path(tmp))
        store = WeaviateStore(weaviate_settings)
        backends = {"local": LocalHybridIndex(settings.index_dir), label: store.index_for(None)}
        queries = [SearchQuery(q, embed_query(embeddings, q), Audience.PUBLIC) for q in QUESTIONS]
        results = {}
        for name, index in backends.items():
            reindex(settings, index, embeddings)
            started = time.perf_counter()
            summary = reindex(settings, index, embeddings, full=True)
            rebuild_s = time.perf_counter() - started
            time_searches(index, queries, 10)  # warm up
            results[name] = (time_searches(index, queries, args.rounds), rebuild_s, summary.chunks_total)
        store.close()
    if fake:
        fake.stop()
    base = statistics.median(results["local"][0])
    print(f"{'backend':<40} {'chunks':>6} {'median ms':>10} {'p95 ms':>8} {'x local':>8} {'full rebuild s':>15}")
    for name, (timings, rebuild_s, chunks) in results.items():
        median = statistics.median(timings)
        print(f"{name:<40} {chunks:>6} {median:>10.2f} {percentile(timings, 0.95):>8.2f} "
              f"{median / base:>8.1f} {rebuild_s:>15.2f}")


if __name__ == "__main__":
    main()
