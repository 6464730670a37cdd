"""Micro-batching: concurrent questions' embedding requests run as one model call.

Under a burst every question embeds its text on its own, and each ONNX call pays a fixed cost
(tokenizer, session start, kernel setup) beside the work per token. A MicroBatcher gathers the
requests that arrive while the model is busy, plus those that come within a few milliseconds,
into one call made by its own worker threads (never the event loop).

A lone request is not held back: when the queue holds nothing else, it runs at once, so an idle
bot answers as fast as without batching. The queue is bounded: when it is full, a caller waits
for room (back-pressure on the threads that prepare answers) instead of the queue growing
without limit. A request cancelled before its batch starts is left out of the batch; a failing
batch is retried item by item so that one bad text fails only its own question.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Generic, TypeVar

import numpy as np
from langchain_core.embeddings import Embeddings

from bot.knowledge.embeddings import embed_texts
from bot.settings import ThroughputSettings

Item = TypeVar("Item")
Result = TypeVar("Result")


class BatcherClosed(RuntimeError):
    """The batcher was closed; nothing more is accepted."""


class MicroBatcher(Generic[Item, Result]):
    """Runs `run_batch(items) -> results` (one result per item, same order) on gathered items."""

    def __init__(self, run_batch: Callable[[list[Item]], Sequence[Result]], *, max_batch: int = 32,
                 window_s: float = 0.002, max_queue: int = 1024, workers: int = 1,
                 name: str = "micro-batcher") -> None:
        if max_batch < 1 or max_queue < 1 or workers < 1 or window_s < 0:
            raise ValueError("max_batch, max_queue and workers must be at least 1, window_s at least 0")
        self._run_batch = run_batch
        self.max_batch = max_batch
        self.window_s = window_s
        self.max_queue = max_queue
        self._queue: deque[tuple[Item, Future[Result]]] = deque()
        self._changed = threading.Condition()
        self._closed = False
        self.batches_run = 0  # counters for benches and tests: how the work was actually grouped
        self.items_run = 0
        self._workers = [threading.Thread(target=self._work, name=f"{name}-{n}", daemon=True)
                         for n in range(workers)]
        for worker in self._workers:
            worker.start()

    # ----- callers ---------------------------------------------------------------------------

    def submit(self, item: Item) -> Future[Result]:
        """Queue one item; waits while the queue is full. Cancel the future to drop the item."""
        future = self._enqueue(item, wait=True)
        assert future is not None
        return future

    def call(self, item: Item) -> Result:
        """The item's result, from a thread (blocking)."""
        return self.submit(item).result()

    async def acall(self, item: Item) -> Result:
        """The item's result, from a coroutine; cancelling the task drops the item if not started.
        A full queue is waited for on a thread, never on the event loop."""
        future = self._enqueue(item, wait=False) or await asyncio.to_thread(self.submit, item)
        return await asyncio.wrap_future(future)  # a cancelled task cancels the future

    def _enqueue(self, item: Item, *, wait: bool) -> Future[Result] | None:
        """The item's future, or None when the queue is full and `wait` is false."""
        with self._changed:
            while len(self._queue) >= self.max_queue and not self._closed:
                if not wait:
                    return None
                self._changed.wait()
            if self._closed:
                raise BatcherClosed("the batcher is closed")
            future: Future[Result] = Future()
            self._queue.append((item, future))
            self._changed.notify_all()
        return future

    def close(self, timeout_s: float = 5.0) -> None:
        """Run what is queued, then stop the workers."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        for worker in self._workers:
            worker.join(timeout_s)

    # ----- workers ---------------------------------------------------------------------------

    def _work(self) -> None:
        while (batch := self._next_batch()) is not None:
            self._run(batch)

    def _next_batch(self) -> list[tuple[Item, Future[Result]]] | None:
        """The next batch (empty when all its items were cancelled); None once closed and drained."""
        with self._changed:
            while not self._queue and not self._closed:
                self._changed.wait()
            if not self._queue:
                return None
            # More than one waiting means a burst: others are probably a moment away, so wait a
            # little for a fuller batch. A lone item is not held back (no delay when idle).
            if 1 < len(self._queue) < self.max_batch and self.window_s and not self._closed:
                deadline = time.monotonic() + self.window_s
                while len(self._queue) < self.max_batch and (left := deadline - time.monotonic()) > 0:
                    self._changed.wait(left)
            batch = []
            while self._queue and len(batch) < self.max_batch:
                item, future = self._queue.popleft()
                if future.set_running_or_notify_cancel():  # False: cancelled while queued
                    batch.append((item, future))
            self._changed.notify_all()  # room in the queue for waiting submitters
            return batch

    def _run(self, batch: list[tuple[Item, Future[Result]]]) -> None:
        if not batch:
            return
        try:
            results = list(self._run_batch([item for item, _ in batch]))
            if len(results) != len(batch):
                raise RuntimeError(f"run_batch returned {len(results)} results for {len(batch)} items")
        except Exception as exc:
            if len(batch) == 1:
                batch[0][1].set_exception(exc)
                return
            for one in batch:  # isolate the failure to the item(s) that cause it
                self._run([one])
            return
        self.batches_run += 1
        self.items_run += len(batch)
        for (_, future), result in zip(batch, results):
            future.set_result(result)


class BatchedQueryEmbeddings(Embeddings):
    """Wraps any LangChain Embeddings: each text of an embed_* call goes through one shared
    MicroBatcher, so concurrent questions' texts are embedded together. Indexing (many texts in
    one call) bypasses the batcher: it is one batch already."""

    def __init__(self, inner: Embeddings, *, max_batch: int = 32, window_s: float = 0.002,
                 max_queue: int = 1024, workers: int = 1, bypass_over: int = 8) -> None:
        self.inner = inner
        self.bypass_over = bypass_over
        self.batcher: MicroBatcher[str, np.ndarray] = MicroBatcher(
            self._embed_batch, max_batch=max_batch, window_s=window_s, max_queue=max_queue,
            workers=workers, name="embed-batch")

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        return embed_texts(self.inner, texts)

    def embed_array(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        if len(texts) > self.bypass_over:
            return embed_texts(self.inner, texts)
        futures = [self.batcher.submit(text) for text in texts]
        return np.stack([future.result() for future in futures]).astype(np.float32, copy=False)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_array(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_array([text])[0].tolist()

    async def aembed_vector(self, text: str) -> np.ndarray:
        """One text's vector, awaited on the event loop: no thread is held while the text waits for
        its batch, so every question of a burst can queue at once and batches fill up (a thread
        per waiting question would cap a batch at the number of threads)."""
        return await self.batcher.acall(text)

    async def aembed_query(self, text: str) -> list[float]:
        return (await self.aembed_vector(text)).tolist()

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        if len(texts) > self.bypass_over:
            return await asyncio.to_thread(self.embed_documents, texts)
        return [vector.tolist() for vector in await asyncio.gather(*map(self.aembed_vector, texts))]

    def close(self) -> None:
        self.batcher.close()


def batched_for_questions(embeddings: Embeddings, settings: ThroughputSettings) -> Embeddings:
    """The embeddings questions go through: batched unless throughput.query_batching is off."""
    if not settings.query_batching or isinstance(embeddings, BatchedQueryEmbeddings):
        return embeddings
    return BatchedQueryEmbeddings(embeddings, max_batch=settings.query_batch_max,
                                  window_s=settings.query_batch_window_ms / 1000)
