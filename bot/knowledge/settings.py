"""Settings of the knowledge base: where documents come from, how they are chunked and embedded,
and the Weaviate index they go to. Re-exported by bot.settings, which builds the whole object."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator


class KnowledgeSource(BaseModel):
    """A folder (or a single JSONL corpus) of policy documents, or a LangChain document loader
    (bot/knowledge/connectors.py), and who may read it."""

    model_config = {"extra": "forbid"}
    path: Path | None = None
    loader: str | None = Field(
        None, description="'package.module:ClassName' of a LangChain document loader, instead of a "
        "path, e.g. 'langchain_community.document_loaders:SitemapLoader' (the connectors extra)")
    options: dict[str, Any] = Field(default_factory=dict, description="keyword arguments for the loader")
    name: str | None = Field(None, description="the loader's name in document ids and messages "
                             "(default: the class name); keep it stable, ids are made from it")
    url_key: str = Field("source", description="the loader's metadata key holding each page's URL")
    title_key: str = Field("title", description="the loader's metadata key holding each page's title")
    audience: Literal["public", "staff"] = "public"
    base_url: str | None = Field(
        None, description="where these documents are published; a document with no url of its own "
        "links to base_url + its path in the folder without the extension (store-hours.md -> "
        "<base_url>/store-hours)",
    )

    @model_validator(mode="after")
    def _path_or_loader(self) -> KnowledgeSource:
        if (self.path is None) == (self.loader is None):
            raise ValueError("give each [[knowledge]] source either a path (a folder of documents) or a "
                             "loader ('package.module:ClassName' of a LangChain document loader), not both")
        if self.loader is not None and (":" not in self.loader or "." not in self.loader.split(":")[0]):
            raise ValueError(f"loader {self.loader!r} must be 'package.module:ClassName', for example "
                             "'langchain_community.document_loaders:SitemapLoader'")
        return self

    @property
    def label(self) -> str:
        """How messages name this source: its folder, or its loader."""
        if self.path is not None:
            return str(self.path)
        return f"loader {self.name or self.loader.rsplit(':', 1)[-1]}"  # type: ignore[union-attr]

    @field_validator("base_url")
    @classmethod
    def _base_url_is_http(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https:// (for example https://help.example.com/policies)")
        return url


class ChunkingSettings(BaseModel):
    model_config = {"extra": "forbid"}
    chunk_size: int = Field(1000, ge=200, le=8000, description="characters per chunk")
    chunk_overlap: int = Field(150, ge=0, le=2000)

    @model_validator(mode="after")
    def _overlap_smaller_than_chunk(self) -> ChunkingSettings:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError("chunk_overlap must be smaller than chunk_size")
        return self


class EmbeddingSettings(BaseModel):
    model_config = {"extra": "forbid"}
    provider: str = Field(
        "local-minilm",
        description="'local-minilm' (bundled, offline) or 'package.module:ClassName' of any "
        "LangChain Embeddings class",
    )
    options: dict[str, Any] = Field(default_factory=dict, description="keyword arguments for it")
    batch_size: int = Field(4, ge=1, le=1024, description="texts per model call")
    index_sessions: int = Field(
        2, ge=1, le=8,
        description="model sessions embedding a large reindex side by side (bundled model only; each "
        "extra one is faster on 2+ cores but holds about 140 MB until the reindex ends; 1 = the shared one)",
    )


class WeaviateSettings(BaseModel):
    """Weaviate as the policy index. Unset url: the embedded local index is used instead."""

    model_config = {"extra": "forbid"}
    url: str | None = Field(
        None, description="REST endpoint, e.g. http://localhost:8080 or https://<cluster>.weaviate.cloud; "
        "WEAVIATE_URL is used when this is not set",
    )
    grpc_host: str | None = Field(None, description="default: the url's host (grpc-<host> on Weaviate Cloud)")
    grpc_port: int | None = Field(None, ge=1, le=65535, description="default: 50051, or 443 for https")
    grpc_secure: bool | None = Field(None, description="default: true when the url is https")
    api_key: SecretStr | None = Field(None, description="Weaviate Cloud or API-key auth; or WEAVIATE_API_KEY")
    collection: str = Field(
        "SupportbotPolicies", pattern=r"^[A-Z][A-Za-z0-9_]{0,120}$",
        description="the alias searches use; full rebuilds create <collection>_v<generation> behind it",
    )
    init_timeout_s: float = Field(3.0, gt=0, le=60, description="connecting and startup checks")
    query_timeout_s: float = Field(5.0, gt=0, le=300, description="one search or read")
    insert_timeout_s: float = Field(30.0, gt=0, le=600, description="one batch write or schema change")
    batch_size: int = Field(200, ge=1, le=5000, description="objects per batch request")
    refresh_s: float = Field(2.0, ge=0, le=3600,
                             description="how soon another process's reindex is noticed (generation)")
    drop_grace_s: float = Field(
        60.0, ge=0, le=86_400,
        description="how long a collection (or team tenant) replaced by a full rebuild is kept, so "
        "searches that started on it finish; keep it above refresh_s + query_timeout_s",
    )
    multi_tenancy: bool = Field(
        False, description="one knowledge base per Slack workspace / Discord server (Weaviate tenants)",
    )

    @field_validator("url")
    @classmethod
    def _url_is_http(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https:// (for example http://localhost:8080)")
        return url.rstrip("/") if url else url
