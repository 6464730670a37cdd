"""Builds a SupportBot from settings: the one place that picks each component's implementation."""

from __future__ import annotations

import structlog
from langchain_core.embeddings import Embeddings

from bot.answering.generation import ClaudeAnswerer
from bot.answering.retrieval import Retriever
from bot.knowledge.embeddings import build_embeddings, embeddings_model_id
from bot.knowledge.local_store import LocalHybridIndex
from bot.prompts import PromptStore
from bot.service import SupportBot
from bot.settings import Settings
from bot.state.connection import RedisState
from bot.state.stores import StateStores

log = structlog.get_logger(__name__)


def build_bot(settings: Settings, *, embeddings: Embeddings | None = None,
              answerer: ClaudeAnswerer | None | str = "from-settings",
              redis: RedisState | None = None, long_running: bool = True) -> SupportBot:
    """The bot for these settings; tests pass a loaded model, their own answerer or Redis."""
    embeddings = embeddings or build_embeddings(settings.embeddings)
    index = LocalHybridIndex(settings.index_dir)
    indexed_with = index.embedding_model()
    if indexed_with and indexed_with != embeddings_model_id(settings.embeddings):
        log.warning("the index was built with other embeddings; run `supportbot index` to rebuild",
                    indexed_with=indexed_with, configured=embeddings_model_id(settings.embeddings))
    if answerer == "from-settings":
        answerer = ClaudeAnswerer(settings) if settings.llm_enabled else None
    return SupportBot(
        settings,
        retriever=Retriever(index, embeddings, settings.retrieval),
        embeddings=embeddings,
        prompts=PromptStore(settings.prompts_dir),
        state=StateStores.build(settings, redis, warn=long_running),
        answerer=answerer,
    )
