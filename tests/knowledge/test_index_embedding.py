"""A reindex's embedding: parallel sessions give the shared session's vectors, in order; errors
and progress reach the caller; the question batcher is bypassed."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from bot.knowledge import index_embedding
from bot.knowledge.batching import BatchedQueryEmbeddings
from bot.knowledge.index_embedding import ParallelMiniLM, embed_for_index

WORDS = "returns shipping warranty refund licence renewal customs duties opened tent sleeping bag".split()


def texts(count: int) -> list[str]:
    # Lengths from a few words to a long paragraph, out of order, so that sorting and batching matter.
    return [" ".join(WORDS[(n * 7 + k) % len(WORDS)] for k in range(1 + (n * 37) % 90)) for n in range(count)]


def test_two_sessions_give_the_shared_sessions_vectors_in_the_same_order(embeddings):
    chunks = texts(60)
    expected = embeddings.embed_array(chunks)
    sessions = [embeddings.new_session(threads=1) for _ in range(2)]
    vectors = ParallelMiniLM(embeddings, sessions).embed(chunks, lambda done, total: None)
    assert vectors.shape == (60, 384)
    assert np.allclose(vectors, expected, atol=1e-4)
    assert (np.argmax(vectors @ expected.T, axis=1) == np.arange(60)).all()  # each row is its own text


def test_indexing_bypasses_the_question_batcher_and_reports_progress(embeddings, monkeypatch):
    monkeypatch.setattr(index_embedding, "session_count", lambda wanted: 2)
    monkeypatch.setattr(index_embedding, "PROGRESS_GROUP", 16)
    batched = BatchedQueryEmbeddings(embeddings)
    reports: list[tuple[int, int]] = []
    chunks = texts(80)
    try:
        vectors = embed_for_index(batched, chunks, 4, lambda done, total: reports.append((done, total)))
        assert batched.batcher.items_run == 0  # not one text went through the question batcher
    finally:
        batched.close()
    assert np.allclose(vectors, embeddings.embed_array(chunks), atol=1e-4)
    assert reports[0] == (0, 80) and reports[-1] == (80, 80)
    assert [done for done, _ in reports] == sorted(done for done, _ in reports)


def test_a_small_reindex_uses_the_shared_session(embeddings, monkeypatch):
    def no_new_session(*args, **kwargs):
        raise AssertionError("a few texts should not load sessions of their own")

    monkeypatch.setattr(embeddings, "new_session", no_new_session)
    vectors = embed_for_index(embeddings, texts(5), 4)
    assert np.allclose(vectors, embeddings.embed_array(texts(5)), atol=1e-4)


def test_one_index_session_keeps_a_large_reindex_on_the_shared_session(embeddings, monkeypatch):
    # embeddings.index_sessions = 1: a small container does not pay for extra sessions' memory.
    def no_new_session(*args, **kwargs):
        raise AssertionError("index_sessions = 1 should not load sessions of its own")

    monkeypatch.setattr(embeddings, "new_session", no_new_session)
    chunks = texts(80)  # 20 batches of 4: two sessions would be loaded on a 2-core machine
    vectors = embed_for_index(embeddings, chunks, 4, sessions=1)
    assert np.allclose(vectors, embeddings.embed_array(chunks), atol=1e-4)


class Session:
    """The model's session, counting the batches it starts after `failure` is set; or, with
    fail_on, raising on its fail_on-th batch and setting `failure`."""

    def __init__(self, real, failure, fail_on: int = 0) -> None:
        self.real, self.failure, self.fail_on = real, failure, fail_on
        self.calls = self.after_failure = 0

    def run(self, *args, **kwargs):
        self.calls += 1
        self.after_failure += self.failure.is_set()
        if self.calls == self.fail_on:
            self.failure.set()
            raise RuntimeError("onnxruntime: out of memory")
        return self.real.run(*args, **kwargs)


def test_an_error_in_one_session_reaches_the_caller_and_stops_the_others(embeddings):
    failure = threading.Event()
    healthy = Session(embeddings.new_session(threads=1), failure)
    failing = Session(embeddings.new_session(threads=1), failure, fail_on=2)
    with pytest.raises(RuntimeError, match="out of memory"):
        ParallelMiniLM(embeddings, [healthy, failing]).embed(texts(200), lambda done, total: None)
    # The healthy session may start the batch it had taken (one more, if the threads switch just
    # as the error is raised), not the rest of the queue.
    assert healthy.after_failure <= 2 and failing.calls == 2


def test_other_embeddings_keep_their_batch_size(embeddings):
    class Counting:
        def __init__(self) -> None:
            self.calls: list[int] = []

        def embed_documents(self, chunk: list[str]) -> list[list[float]]:
            self.calls.append(len(chunk))
            return [[float(len(t)), 1.0] for t in chunk]

    counting = Counting()
    vectors = embed_for_index(counting, ["a", "bb", "ccc", "dddd", "eeeee"], 2)  # type: ignore[arg-type]
    assert counting.calls == [2, 2, 1] and vectors[:, 0].tolist() == [1, 2, 3, 4, 5]
