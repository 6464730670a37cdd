"""One knowledge base per team (Slack workspace or Discord server) on one deployment.

The team asking travels with the request as a context variable (set by SupportBot.answer from
Inquiry.tenant, by `supportbot index --tenant`), so the retriever, the service and the indexer keep
talking to one PolicyIndex: TenantRoutedIndex forwards each call to that team's knowledge base.
asyncio.to_thread copies the context, so searches in worker threads see the same team.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Protocol

import structlog

from bot.knowledge.stores.protocol import IndexStoreError, PolicyIndex, SearchHit, SearchQuery
from bot.settings import Settings

log = structlog.get_logger(__name__)
current_tenant: ContextVar[str | None] = ContextVar("supportbot_tenant", default=None)
TENANT_PLACEHOLDER = "{tenant}"


@contextmanager
def tenant_scope(tenant: str | None) -> Iterator[None]:
    token = current_tenant.set(tenant)
    try:
        yield
    finally:
        current_tenant.reset(token)


class TenantIndexes(Protocol):
    def index_for(self, tenant: str | None) -> PolicyIndex: ...


class TenantRoutedIndex:
    """A PolicyIndex that is, for each call, the knowledge base of the team asking."""

    def __init__(self, indexes: TenantIndexes) -> None:
        self.indexes = indexes

    def _index(self) -> PolicyIndex:
        return self.indexes.index_for(current_tenant.get())

    def generation(self) -> int:
        if current_tenant.get() is None:
            return 0
        try:
            return self._index().generation()
        except IndexStoreError as exc:  # an unusable team id: searching will say so
            log.error("no knowledge base for this team", error=str(exc))
            return 0

    def search(self, query: SearchQuery) -> list[SearchHit]:
        if current_tenant.get() is None:
            # Answering goes on (a decline with a human offered) but the gap is loud in the logs.
            log.error("multi-tenancy is on but the question names no team; adapters must set "
                      "Inquiry.tenant (Slack team id / Discord guild id)")
            return []
        return self._index().search(query)

    def embedding_model(self) -> str | None:
        return None if current_tenant.get() is None else self._index().embedding_model()

    def document_hashes(self) -> dict[str, str]:
        return self._index().document_hashes()

    def document_paths(self) -> dict[str, str]:
        return self._index().document_paths()

    def count(self) -> int:
        return self._index().count()

    def begin_update(self, *, full: bool = False, embedding_model: str = ""):
        return self._index().begin_update(full=full, embedding_model=embedding_model)


def settings_for_tenant(settings: Settings, tenant: str | None) -> Settings:
    """The settings with `{tenant}` in knowledge folder paths replaced by this team's id."""
    if not any(s.path is not None and TENANT_PLACEHOLDER in str(s.path) for s in settings.knowledge):
        return settings
    if tenant is None:
        raise IndexStoreError("The knowledge folders contain {tenant}: name the team whose knowledge "
                              "base to index (--tenant T0123ABCD).")
    sources = [s.model_copy(update={"path": Path(str(s.path).replace(TENANT_PLACEHOLDER, tenant))})
               if s.path is not None else s for s in settings.knowledge]
    return settings.model_copy(update={"knowledge": sources})
