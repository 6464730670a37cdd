"""Embedding a reindex's chunks: the whole list at once, sorted by length, on parallel sessions.

A question is one short text and wants the lowest latency: the bot's shared MiniLM session, with
onnxruntime's threads. A reindex is thousands of texts and wants throughput, which that session
does not give on a small machine: the int8 kernels of a batch of 4 texts leave most of a second
core idle between their parallel sections. Here each of two sessions of one thread embeds its own
batches, taken from a shared queue (a slow batch does not leave the other session waiting):
45.9-47.1 chunks/s against 37.7-40.6 for the shared session on doc2dial, on 2 cores (1.22x).
The price is memory while the reindex runs: two sessions and their onnxruntime arenas raised a
cold doc2dial index's peak RSS from 455 to 734 MB, released when it is done. A small container
sets embeddings.index_sessions = 1 (the shared session, as fast per core).

Sorting the whole list by length (not 128 chunks at a time) also pads less: each batch pads to
its longest text. The vectors are the same either way; padding is masked.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

import numpy as np
from langchain_core.embeddings import Embeddings

from bot.knowledge.batching import BatchedQueryEmbeddings
from bot.knowledge.embeddings import MiniLMOnnxEmbeddings, embed_texts

# Progress callback: texts embedded so far, of all of them.
Progress = Callable[[int, int], None]
PROGRESS_GROUP = 128  # texts embedded between two progress reports
# More sessions than cores only compete for them; two is what was measured (a 2-core machine), so
# two is the default on larger machines too until someone measures more (embeddings.index_sessions).
MAX_SESSIONS = 2
# Fewer batches than this per session: the shared session does it sooner than loading new ones.
MIN_BATCHES_PER_SESSION = 8


def embed_for_index(embeddings: Embeddings, texts: list[str], batch_size: int,
                    on_progress: Progress | None = None, sessions: int = MAX_SESSIONS) -> np.ndarray:
    """Vectors for a reindex's texts, in their order (float32, one row a text)."""
    report = on_progress or (lambda done, total: None)
    # Indexing bypasses the question batcher: its texts are one large batch already.
    inner = embeddings.inner if isinstance(embeddings, BatchedQueryEmbeddings) else embeddings
    if isinstance(inner, MiniLMOnnxEmbeddings):
        count = session_count(sessions)
        if count > 1 and len(inner.batches(texts)) >= count * MIN_BATCHES_PER_SESSION:
            sessions = [inner.new_session(threads=1) for _ in range(count)]
        else:  # a small reindex, or one core: the shared session (all cores' threads)
            sessions = [inner.session]
        return ParallelMiniLM(inner, sessions).embed(texts, report)
    # Other Embeddings classes get the configured batch size, which may be an API's request limit.
    return _in_groups(lambda part: embed_texts(inner, part), texts, batch_size, report)


def session_count(wanted: int = MAX_SESSIONS) -> int:
    """Sessions for a large reindex: as many as wanted (embeddings.index_sessions), at most one
    per core."""
    return max(1, min(os.cpu_count() or 1, wanted))


def _in_groups(embed: Callable[[list[str]], np.ndarray], texts: list[str], group: int,
               report: Progress) -> np.ndarray:
    report(0, len(texts))
    parts = []
    for start in range(0, len(texts), group):
        parts.append(embed(texts[start : start + group]))
        report(min(start + group, len(texts)), len(texts))
    return np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)


class ParallelMiniLM:
    """Sessions of the model, each in a thread of its own embedding batches from one queue."""

    def __init__(self, model: MiniLMOnnxEmbeddings, sessions: list) -> None:
        self.model = model
        self.sessions = sessions

    def embed(self, texts: list[str], report: Progress) -> np.ndarray:
        out = np.zeros((len(texts), self.model.dimensions), dtype=np.float32)
        batches = self.model.batches(texts)  # shortest first, over the whole list
        taken = iter(range(len(batches)))
        lock = threading.Lock()  # guards the queue and the progress count
        failed = threading.Event()
        done = [0, 0]  # texts embedded, texts at the last report

        def work(session) -> None:
            while not failed.is_set():
                with lock:
                    number = next(taken, None)
                if number is None:
                    return
                batch = batches[number]
                try:
                    out[batch] = self.model.encode_with(session, [texts[i] or " " for i in batch])
                except BaseException:
                    failed.set()  # the other sessions stop after their current batch
                    raise
                with lock:
                    done[0] += len(batch)

        report(0, len(texts))
        with ThreadPoolExecutor(len(self.sessions), thread_name_prefix="index-embed") as pool:
            futures = [pool.submit(work, session) for session in self.sessions]
            pending = set(futures)
            while pending:
                # Progress is reported from the caller's thread (callbacks may not be thread-safe).
                _, pending = wait(pending, timeout=0.5, return_when=FIRST_EXCEPTION)
                with lock:
                    embedded = done[0]
                if embedded - done[1] >= PROGRESS_GROUP and embedded < len(texts):
                    done[1] = embedded
                    report(embedded, len(texts))
                if failed.is_set():
                    break
        for future in futures:
            future.result()  # the first error, as raised in its session's thread
        report(len(texts), len(texts))
        return out
