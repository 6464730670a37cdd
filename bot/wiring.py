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
from bot.state.cache import InMemoryAnswerCache
from bot.state.memory import InMemoryConversationMemory
from bot.state.records import InMemoryRecords

log = structlog.get_logger(__name__)


def build_bot(settings: Settings, *, embeddings: Embeddings | None = None,
              answerer: ClaudeAnswerer | None | str = "from-settings") -> SupportBot:
    """The bot for these settings; tests pass a loaded model or their own answerer."""
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
        memory=InMemoryConversationMemory(settings.memory.max_turns, settings.memory.max_chars,
                                          settings.memory.ttl_s),
        cache=InMemoryAnswerCache(settings.cache.ttl_s, settings.cache.max_entries),
        records=InMemoryRecords(),
        answerer=answerer,
    )
