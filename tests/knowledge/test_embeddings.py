import numpy as np
import pytest

from bot.knowledge.embeddings import (
    EmbeddingsError, MiniLMOnnxEmbeddings, _bert_uncased_vocab, build_embeddings, embed_texts,
)
from bot.settings import EmbeddingSettings


def test_vocabulary_is_bert_base_uncased():
    vocab = _bert_uncased_vocab()
    assert len(vocab) == 30522
    assert vocab["[PAD]"] == 0 and vocab["[CLS]"] == 101 and vocab["[SEP]"] == 102
    assert vocab["\\"] == 1032  # the entry a plain import of the package would lose


def test_tokenizer_matches_bert_wordpiece(embeddings):
    # Ids of bert-base-uncased for this sentence, as the reference tokenizer.json gives them.
    ids = embeddings._tokenizer.encode("Know Your Rights If a Complaint").ids
    assert ids == [101, 2113, 2115, 2916, 2065, 1037, 12087, 102]


def test_vectors_are_normalised_and_mean_something(embeddings):
    vectors = embed_texts(embeddings, [
        "Can I return an opened item?", "What is the return policy for opened products?",
        "What's the weather in Paris?"])
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert vectors[0] @ vectors[1] > 0.5 > vectors[0] @ vectors[2]


def test_batches_give_the_same_vectors_as_single_calls(embeddings):
    texts = ["short", "a much longer sentence about shipping to Canada and customs duties"]
    together = embeddings.embed_array(texts)
    alone = np.stack([embeddings.embed_array([t])[0] for t in texts])
    assert np.allclose(together, alone, atol=1e-4)


def test_langchain_interface(embeddings):
    assert isinstance(embeddings, MiniLMOnnxEmbeddings)
    assert len(embeddings.embed_query("hello")) == 384
    assert len(embeddings.embed_documents(["a", "b"])) == 2


def test_other_providers_by_import_path():
    fake = build_embeddings(EmbeddingSettings(provider="langchain_core.embeddings:DeterministicFakeEmbedding",
                                              options={"size": 8}))
    assert len(fake.embed_query("x")) == 8
    with pytest.raises(EmbeddingsError, match="cannot be imported"):
        build_embeddings(EmbeddingSettings(provider="no_such_module:Thing"))
    with pytest.raises(EmbeddingsError, match="neither"):
        build_embeddings(EmbeddingSettings(provider="openai"))


def test_a_short_query_is_not_batched_with_its_long_thread(embeddings):
    own = "what about the fee?"
    context = "I want to renew my licence, it expired two years ago and I moved since. " * 4 + own
    similar = ["Can I renew online?", "How much is the renewal fee?", "Where do I send the form?"]
    batches = embeddings.batches([context, own, *similar])
    assert sorted(map(sorted, batches)) == [[0], [1, 2, 3, 4]]  # the short ones together, the long one apart
    assert len(embeddings.batches(["x" * 700, "y" * 650, "z" * 600])) == 1  # similar chunks share one
    together = embeddings.embed_array([own, context])
    assert np.allclose(together, np.vstack([embeddings.embed_array([own]), embeddings.embed_array([context])]),
                       atol=1e-6)
