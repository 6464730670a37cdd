"""PolicyRetriever: the policy search as a LangChain retriever, for the bot's chain and for yours.

It wraps the bot's own `Retriever` (hybrid search, thread blending, the grounding rule) over
whichever store is configured, local or Weaviate. The audience, and the tenant with
multi-tenancy, are fixed when it is built: a query cannot ask for staff documents, because
there is no argument that would. Each Document carries where it came from (source URL, title,
heading path, document and chunk ids) and how it matched (fused score, cosine similarity).

    retriever = PolicyRetriever.from_settings(Settings(), audience=Audience.PUBLIC)
    docs = retriever.invoke("Can I return an opened tent?")
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field

from bot.answering.retrieval import Retrieval, Retriever, answer_passages
from bot.knowledge.stores.protocol import SearchHit
from bot.knowledge.stores.weaviate.tenancy import tenant_scope
from bot.types import Audience, ThreadPages


class PolicyRetriever(BaseRetriever):
    """Policy passages for a question, for one audience (and tenant), best first."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)
    # A bot.answering.retrieval.Retriever, or anything with its retrieve(question, audience, vector, thread).
    retriever: Any
    audience: Audience = Audience.PUBLIC
    tenant: str | None = None
    k: int | None = Field(None, ge=1, description="passages to return (default: retrieval.top_k)")
    # How async calls run the blocking search off the event loop (default: asyncio.to_thread);
    # the bot passes its own pool so that retrieval work is bounded and ordered.
    run_blocking: Any = None

    @classmethod
    def from_settings(cls, settings: Any, *, audience: Audience = Audience.PUBLIC,
                      tenant: str | None = None, k: int | None = None, embeddings: Any = None) -> PolicyRetriever:
        """The retriever over the index these settings name (build it with `supportbot index`)."""
        from bot.knowledge.embeddings import build_embeddings
        from bot.wiring import build_index

        embeddings = embeddings or build_embeddings(settings.embeddings)
        return cls(retriever=Retriever(build_index(settings), embeddings, settings.retrieval),
                   audience=Audience(audience), tenant=tenant, k=k)

    def retrieval(self, query: str, vector: Any = None, thread: ThreadPages = ThreadPages()) -> Retrieval:
        """The whole retrieval (ranking, grounding signals, query vector) behind the Documents;
        `thread`: what the thread's earlier answers drew on."""
        with tenant_scope(self.tenant):
            return self.retriever.retrieve(query, self.audience, vector, thread=thread)

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun,
                                k: int | None = None, vector: Any = None, thread: ThreadPages = ThreadPages(),
                                retrieval_sink: list[Retrieval] | None = None) -> list[Document]:
        """`k` overrides the count for this call; the bot's chain passes the vector it already
        has, what the thread's answers drew on, and a list that receives the full Retrieval
        (grounding needs more than Documents)."""
        retrieval = self.retrieval(query, vector, thread)
        if retrieval_sink is not None:
            retrieval_sink.append(retrieval)
        count = k or self.k
        hits = answer_passages(retrieval.ranked, count) if count else retrieval.hits
        return [to_document(hit, retrieval.grounded) for hit in hits]

    async def _aget_relevant_documents(self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun,
                                       k: int | None = None, vector: Any = None, thread: ThreadPages = ThreadPages(),
                                       retrieval_sink: list[Retrieval] | None = None) -> list[Document]:
        # The search is CPU and blocking I/O (embedding, the local index, Weaviate's client).
        run = self.run_blocking or asyncio.to_thread
        return await run(functools.partial(self._get_relevant_documents, query, run_manager=run_manager,  # type: ignore[arg-type]
                                           k=k, vector=vector, thread=thread, retrieval_sink=retrieval_sink))


def to_document(hit: SearchHit, grounded: bool) -> Document:
    chunk = hit.chunk
    return Document(
        id=chunk.id,
        page_content=chunk.text,
        metadata={
            "source": chunk.url, "title": chunk.title, "heading": chunk.heading,
            "headings": list(chunk.headings),
            "document_id": chunk.document_id, "chunk_id": chunk.id, "audience": chunk.audience,
            "score": float(hit.score), "similarity": float(hit.similarity), "grounded": grounded,
        },
    )
