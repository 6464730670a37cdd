"""Query vectors: each message of a thread is embedded once, the context is their weighted mean."""

import numpy as np
import pytest
from langchain_core.embeddings import Embeddings

from bot.answering.query_vectors import QueryVectors, thread_vector
from bot.knowledge.embeddings import embed_texts


class CountingEmbeddings(Embeddings):
    """The real model, counting what it is asked to embed."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.embedded: list[str] = []

    def embed_documents(self, texts):
        self.embedded.extend(texts)
        return embed_texts(self.inner, list(texts)).tolist()

    def embed_query(self, text):
        return self.embed_documents([text])[0]


def test_a_thread_embeds_only_its_newest_message(embeddings):
    counting = CountingEmbeddings(embeddings)
    vectors = QueryVectors(counting)
    first, none = vectors.for_thread("Can I return an opened tent?", [])
    assert none is None and counting.embedded == ["Can I return an opened tent?"]
    own, context = vectors.for_thread("what about boots?", ["Can I return an opened tent?"])
    assert counting.embedded == ["Can I return an opened tent?", "what about boots?"]
    assert np.allclose(context, thread_vector([first, own], ["Can I return an opened tent?", "what about boots?"]))


def test_the_context_leans_on_the_longer_message_and_is_unit_length():
    a, b = np.array([1.0, 0.0], np.float32), np.array([0.0, 1.0], np.float32)
    vector = thread_vector([a, b], ["one two three", "four"])
    assert np.linalg.norm(vector) == pytest.approx(1.0)
    assert vector[0] == pytest.approx(3 * vector[1])


def test_the_cache_is_bounded(embeddings):
    vectors = QueryVectors(CountingEmbeddings(embeddings), size=2)
    vectors.message_vectors(["a tent", "boots", "a stove"])
    assert list(vectors._cache) == ["boots", "a stove"]
