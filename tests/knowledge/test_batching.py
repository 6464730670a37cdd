"""MicroBatcher and BatchedQueryEmbeddings: ordering, isolated errors, no wait when idle,
cancellation, a bounded queue, and vectors equal to the unbatched model's."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from bot.knowledge.batching import BatchedQueryEmbeddings, BatcherClosed, MicroBatcher
from bot.knowledge.embeddings import embed_query


class GatedDoubler:
    """run_batch that records its batches and can be held closed, so a test controls what queues
    up while a batch is running."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.started = threading.Event()

    def __call__(self, items: list[int]) -> list[int]:
        self.batches.append(list(items))
        self.started.set()
        self.gate.wait(5)
        if any(item < 0 for item in items):
            raise ValueError(f"negative item in {items}")
        return [item * 2 for item in items]


def busy_batcher(**options):
    """A batcher whose first batch (the item 1000) keeps running until run.gate opens, so what
    a test submits meanwhile queues up: (run, batcher, future of the first item)."""
    run = GatedDoubler()
    batcher = MicroBatcher(run, **{"window_s": 0.0, **options})
    run.gate.clear()
    first = batcher.submit(1000)
    assert run.started.wait(5)
    return run, batcher, first


def test_results_keep_their_order_and_a_burst_runs_as_one_batch():
    run, batcher, first = busy_batcher(max_batch=64)
    futures = [batcher.submit(n) for n in range(20)]  # queue up behind the running batch
    run.gate.set()

    assert [f.result(5) for f in futures] == [n * 2 for n in range(20)]
    assert first.result(5) == 2000
    assert run.batches == [[1000], list(range(20))]
    batcher.close()


def test_batches_are_capped_at_max_batch():
    run, batcher, first = busy_batcher(max_batch=8)
    futures = [batcher.submit(n) for n in range(20)]
    run.gate.set()

    assert [f.result(5) for f in futures] == [n * 2 for n in range(20)]
    assert first.result(5) == 2000
    assert [len(b) for b in run.batches] == [1, 8, 8, 4]
    batcher.close()


def test_an_error_fails_only_its_own_item():
    run, batcher, first = busy_batcher(max_batch=64)
    futures = [batcher.submit(n) for n in (1, 2, -3, 4)]
    run.gate.set()

    assert first.result(5) == 2000
    assert [futures[i].result(5) for i in (0, 1, 3)] == [2, 4, 8]
    with pytest.raises(ValueError, match="negative item"):
        futures[2].result(5)
    assert batcher.call(5) == 10  # the batcher still works after a failure
    batcher.close()


def test_a_wrong_number_of_results_is_an_error_not_a_shifted_answer():
    batcher = MicroBatcher(lambda items: items[:-1], window_s=0.0)
    with pytest.raises(RuntimeError, match="returned 0 results for 1 items"):
        batcher.call(1)
    batcher.close()


def test_a_lone_item_is_not_held_for_the_window():
    # A window of 5 seconds: if a lone item waited for company, this would take 5 seconds.
    run = GatedDoubler()
    batcher = MicroBatcher(run, window_s=5.0)
    started = time.monotonic()
    assert batcher.call(21) == 42
    assert time.monotonic() - started < 2.0
    assert run.batches == [[21]]
    batcher.close()


def test_a_burst_waits_up_to_the_window_for_more():
    run, batcher, first = busy_batcher(max_batch=4, window_s=5.0)
    futures = [batcher.submit(n) for n in range(3)]
    run.gate.set()
    first.result(5)
    time.sleep(0.2)  # the three are waiting for a fourth (window 5 s), not running
    assert run.batches == [[1000]]
    futures.append(batcher.submit(3))  # the fourth fills the batch: it runs without the window
    assert [f.result(2) for f in futures] == [0, 2, 4, 6]
    assert run.batches == [[1000], [0, 1, 2, 3]]
    batcher.close()


def test_a_cancelled_item_is_left_out_of_its_batch():
    run, batcher, first = busy_batcher()
    keep, drop, keep_too = batcher.submit(1), batcher.submit(2), batcher.submit(3)
    assert drop.cancel()
    run.gate.set()

    assert (first.result(5), keep.result(5), keep_too.result(5)) == (2000, 2, 6)
    assert run.batches == [[1000], [1, 3]]
    batcher.close()


def test_a_batch_of_only_cancelled_items_leaves_the_batcher_working():
    run, batcher, first = busy_batcher()
    dropped = [batcher.submit(n) for n in range(3)]
    assert all(future.cancel() for future in dropped)
    run.gate.set()
    assert first.result(5) == 2000
    assert batcher.call(9) == 18
    assert run.batches == [[1000], [9]]
    batcher.close()


def test_cancelling_an_awaiting_task_drops_its_item():
    run, batcher, first = busy_batcher()

    async def scenario():
        waiting = asyncio.create_task(batcher.acall(7))
        kept = asyncio.create_task(batcher.acall(8))
        await asyncio.sleep(0.05)
        waiting.cancel()
        await asyncio.sleep(0.05)
        run.gate.set()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        return await kept

    assert asyncio.run(scenario()) == 16
    assert first.result(5) == 2000
    assert run.batches == [[1000], [8]]
    batcher.close()


def test_a_full_queue_makes_callers_wait_for_room():
    run, batcher, first = busy_batcher(max_batch=2, max_queue=2)
    queued = [batcher.submit(1), batcher.submit(2)]
    with ThreadPoolExecutor(1) as pool:
        third = pool.submit(batcher.submit, 3)
        time.sleep(0.2)
        assert not third.done()  # waiting for room, not queued beyond the bound
        run.gate.set()
        assert third.result(5).result(5) == 6
    assert [f.result(5) for f in [first, *queued]] == [2000, 2, 4]
    batcher.close()


def test_close_runs_what_is_queued_then_refuses_more():
    run, batcher, first = busy_batcher()
    queued = batcher.submit(4)
    threading.Timer(0.1, run.gate.set).start()
    batcher.close()
    assert (first.result(5), queued.result(5)) == (2000, 8)
    with pytest.raises(BatcherClosed):
        batcher.submit(5)


def test_batched_embeddings_equal_the_models_own(embeddings):
    batched = BatchedQueryEmbeddings(embeddings, window_s=0.002)
    texts = [f"How long does shipping take to zone {n}?" for n in range(24)]
    with ThreadPoolExecutor(8) as pool:
        vectors = list(pool.map(lambda t: embed_query(batched, t), texts))
    for text, vector in zip(texts, vectors):
        assert np.allclose(vector, embed_query(embeddings, text), atol=1e-4)
    assert batched.batcher.items_run == len(texts)
    assert batched.batcher.batches_run < len(texts)  # concurrent questions shared model calls
    assert batched.embed_documents([]) == []
    batched.close()


async def test_questions_awaited_on_the_loop_share_batches_beyond_any_thread_count(embeddings):
    """aembed_vector holds no thread while a text waits: 40 questions awaited at once fill batches
    of up to max_batch (a thread per waiting question would cap a batch at the pool's size)."""
    batched = BatchedQueryEmbeddings(embeddings, max_batch=16, window_s=0.002)
    texts = [f"Can I return item {n} after 30 days?" for n in range(40)]
    vectors = await asyncio.gather(*(batched.aembed_vector(t) for t in texts))
    for text, vector in zip(texts, vectors):
        assert np.allclose(vector, embed_query(embeddings, text), atol=1e-4)
    assert batched.batcher.items_run == 40 and batched.batcher.batches_run <= 40 // 8
    assert await batched.aembed_query(texts[0]) == pytest.approx(list(vectors[0]), abs=1e-4)
    assert [np.asarray(v) for v in await batched.aembed_documents(texts[:3])][2] == pytest.approx(vectors[2], abs=1e-4)
    batched.close()


async def test_a_cancelled_awaiting_question_leaves_its_batch(embeddings):
    calls: list[list[str]] = []
    gate = threading.Event()

    class Recording:
        def embed_documents(self, texts):
            calls.append(list(texts))
            gate.wait(5)
            return [[float(len(t))] for t in texts]

    batched = BatchedQueryEmbeddings(Recording(), window_s=0.0)  # type: ignore[arg-type]
    first = asyncio.ensure_future(batched.aembed_vector("first"))
    await asyncio.sleep(0.05)  # the first batch is running (held by the gate)
    dropped = asyncio.ensure_future(batched.aembed_vector("dropped"))
    kept = asyncio.ensure_future(batched.aembed_vector("kept"))
    await asyncio.sleep(0.05)
    dropped.cancel()
    await asyncio.sleep(0.05)
    gate.set()
    assert list(await first) == [5.0] and list(await kept) == [4.0]
    assert calls == [["first"], ["kept"]]
    batched.close()
