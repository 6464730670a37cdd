"""Builds a SupportBot from settings: the one place that picks each component's implementation."""

from __future__ import annotations

import structlog
from langchain_core.embeddings import Embeddings

from bot.answering.generation import ClaudeAnswerer
from bot.answering.retrieval import Retriever
from bot.knowledge.batching import batched_for_questions
from bot.knowledge.embeddings import build_embeddings, embeddings_model_id
from bot.knowledge.stores.local import LocalHybridIndex
from bot.knowledge.stores.protocol import PolicyIndex
from bot.ops.metrics import Metrics
from bot.ops.observer import Observer
from bot.prompts import PromptStore
from bot.service import SupportBot
from bot.settings import Settings, SettingsError
from bot.state.connection import RedisState
from bot.state.stores import StateStores

log = structlog.get_logger(__name__)


def build_index(settings: Settings) -> PolicyIndex:
    """Weaviate when a URL is configured (weaviate.url or WEAVIATE_URL), else the local index."""
    if not settings.weaviate.url:
        if settings.weaviate.multi_tenancy:
            raise SettingsError("weaviate.multi_tenancy needs Weaviate: set weaviate.url or WEAVIATE_URL.")
        return LocalHybridIndex(settings.index_dir)
    from bot.knowledge.stores.weaviate.tenancy import TenantRoutedIndex
    from bot.knowledge.stores.weaviate.store import WeaviateStore  # imports grpc: only when used

    store = WeaviateStore(settings.weaviate)
    return TenantRoutedIndex(store) if settings.weaviate.multi_tenancy else store.index_for(None)


def build_bot(settings: Settings, *, embeddings: Embeddings | None = None,
              answerer: ClaudeAnswerer | None | str = "from-settings",
              redis: RedisState | None = None, long_running: bool = True,
              index: PolicyIndex | None = None, observer: Observer | None = None) -> SupportBot:
    """The bot for these settings; tests pass a loaded model, their own answerer, Redis or index.
    It reports to Prometheus metrics of its own unless given another observer (Observer(): none)."""
    embeddings = embeddings or build_embeddings(settings.embeddings)
    index = index or build_index(settings)
    indexed_with = index.embedding_model()
    if indexed_with and indexed_with != embeddings_model_id(settings.embeddings):
        log.warning("the index was built with other embeddings; run `supportbot index` to rebuild",
                    indexed_with=indexed_with, configured=embeddings_model_id(settings.embeddings))
    if answerer == "from-settings":
        answerer = ClaudeAnswerer(settings) if settings.llm_enabled else None
    state = StateStores.build(settings, redis, warn=long_running)
    if observer is None:
        observer = Metrics()
        observer.watch_redis(lambda: state.redis.available, lambda: state.redis.late_replies)
    return SupportBot(
        settings,
        retriever=Retriever(index, query_embeddings := batched_for_questions(embeddings, settings.throughput),
                            settings.retrieval),
        embeddings=query_embeddings,
        prompts=PromptStore(settings.prompts_dir),
        state=state,
        answerer=answerer,
        observer=observer,
    )
