"""LangChain's own standard test suites (langchain-tests) for what the bot offers LangChain users:
PolicyRetriever as a BaseRetriever over an indexed knowledge base, and the bundled MiniLM
embeddings as an Embeddings class."""

from __future__ import annotations

import functools
import shutil
import tempfile
from pathlib import Path

from langchain_tests.integration_tests import EmbeddingsIntegrationTests, RetrieversIntegrationTests
from langchain_tests.unit_tests import EmbeddingsUnitTests

from bot.answering.policy_retriever import PolicyRetriever
from bot.answering.retrieval import Retriever
from bot.knowledge.embeddings import MiniLMOnnxEmbeddings, build_embeddings
from bot.settings import EmbeddingSettings
from bot.types import Audience
from tests.conftest import SAMPLE_KB, make_settings


@functools.cache
def _sample_retriever() -> Retriever:
    """The sample knowledge base indexed once, in a directory of its own."""
    from bot.knowledge.indexer import reindex
    from bot.knowledge.stores.local import LocalHybridIndex

    root = Path(tempfile.mkdtemp(prefix="policy-retriever-suite-"))
    shutil.copytree(SAMPLE_KB, root / "kb")
    settings = make_settings(root, root / "kb")
    embeddings = build_embeddings(EmbeddingSettings())
    index = LocalHybridIndex(settings.index_dir)
    reindex(settings, index, embeddings)
    return Retriever(index, embeddings, settings.retrieval)


class TestPolicyRetrieverStandard(RetrieversIntegrationTests):
    @property
    def retriever_constructor(self) -> type[PolicyRetriever]:
        return PolicyRetriever

    @property
    def retriever_constructor_params(self) -> dict:
        return {"retriever": _sample_retriever(), "audience": Audience.PUBLIC}

    @property
    def retriever_query_example(self) -> str:
        return "Can I return an opened tent after 30 days?"


class _MiniLM:
    """The bundled embeddings, as both standard suites build them."""

    @property
    def embeddings_class(self) -> type[MiniLMOnnxEmbeddings]:
        return MiniLMOnnxEmbeddings

    @property
    def embedding_model_params(self) -> dict:
        return {"batch_size": 4}


class TestMiniLMEmbeddingsUnit(_MiniLM, EmbeddingsUnitTests):
    pass


class TestMiniLMEmbeddingsIntegration(_MiniLM, EmbeddingsIntegrationTests):
    pass


def test_documents_carry_source_title_heading_and_scores():
    docs = PolicyRetriever(retriever=_sample_retriever(), k=3).invoke("How long do refunds take?")
    assert len(docs) == 3
    for doc in docs:
        meta = doc.metadata
        assert meta["title"] and meta["document_id"] and meta["chunk_id"] == doc.id
        assert isinstance(meta["headings"], list) and meta["heading"] == " > ".join(meta["headings"])
        assert 0.0 <= meta["score"] <= 2.0 and -1.0 <= meta["similarity"] <= 1.0
        assert meta["audience"] == "public" and isinstance(meta["grounded"], bool)
    assert [d.metadata["score"] for d in docs] == sorted((d.metadata["score"] for d in docs), reverse=True)


def test_a_public_retriever_cannot_be_asked_for_staff_documents():
    from tests.conftest import STAFF_CANARY

    retriever = PolicyRetriever(retriever=_sample_retriever(), audience=Audience.PUBLIC, k=10)
    docs = retriever.invoke("What is the exception code agents type for refund exceptions?")
    assert docs and all(d.metadata["audience"] == "public" and STAFF_CANARY not in d.page_content for d in docs)
    try:
        retriever.invoke("refund exception code", audience=Audience.STAFF)
    except TypeError:
        pass  # there is no argument that widens the audience
    else:
        raise AssertionError("an audience argument was accepted")
    staff = PolicyRetriever(retriever=_sample_retriever(), audience=Audience.STAFF, k=10)
    assert any(STAFF_CANARY in d.page_content for d in staff.invoke(
        "What is the exception code agents type for refund exceptions?"))
