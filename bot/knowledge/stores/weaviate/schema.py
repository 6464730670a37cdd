"""What the bot keeps in Weaviate: collection definitions, names, and chunk <-> object mapping.

Per configured name (say "SupportbotPolicies"):
  SupportbotPolicies        an alias; searches go through it
  SupportbotPolicies_v7     the collection behind it, which writes address by name (a full rebuild
                            creates _v<next generation> and switches the alias)
  SupportbotPoliciesMeta    one small object per knowledge base: generation, embedding model and,
                            with multi-tenancy, which physical tenant is live; plus one record per
                            collection (or tenant) a rebuild replaced, until it is dropped
Vectors are our own (no vectorizer, cosine distance); BM25 runs over text and title.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from weaviate.classes.config import (
    Configure,
    DataType,
    Property,
    Tokenization,
    VectorDistances,
)

from bot.knowledge.splitting import Chunk

# Searched with BM25; everything else is stored for filtering and for rebuilding the Chunk.
KEYWORD_PROPERTIES = ["text", "title"]
CHUNK_PROPERTIES = [
    "text", "title", "source_url", "audience", "document_id", "chunk_index", "chunk_count",
    "heading_path", "content_hash", "source_path",
]
META_PROPERTIES = ["alias", "tenant", "generation", "embedding_model", "shard", "updated_at"]
_META_NAMESPACE = uuid.UUID("0d6f3a52-8c1e-4a57-b7f4-1f6d2f0f4e11")
_TENANT = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


@dataclass(frozen=True)
class KnowledgeBaseMeta:
    generation: int = 0
    embedding_model: str | None = None
    shard: str = ""  # with multi-tenancy: the Weaviate tenant that holds the live generation


def versioned_name(alias: str, generation: int) -> str:
    return f"{alias}_v{generation}"


def version_of(alias: str, collection: str) -> int | None:
    """The number in <alias>_v<number>, or None for any other name."""
    found = re.fullmatch(rf"{re.escape(alias)}_v(\d+)", collection)
    return int(found[1]) if found else None


def retired_key(alias: str) -> str:
    """The `alias` value of retirement records, which a knowledge base's own lookup never matches."""
    return f"{alias}~retired"


def meta_collection_name(alias: str) -> str:
    return f"{alias}Meta"


def meta_object_id(alias: str, tenant: str | None) -> str:
    return str(uuid.uuid5(_META_NAMESPACE, f"{alias}\x1f{tenant or ''}"))


def check_tenant(tenant: str) -> str:
    """Weaviate tenant names allow letters, digits, '-' and '_'; Slack and Discord ids fit."""
    if not _TENANT.match(tenant):
        raise ValueError(f"Tenant id {tenant!r} is not usable: use 1-40 letters, digits, '-' or '_' "
                         "(a Slack team id such as T0123ABCD or a Discord server id).")
    return tenant


def _text(name: str, *, searchable: bool = False, tokenization: Tokenization = Tokenization.FIELD,
          array: bool = False) -> Property:
    return Property(
        name=name, data_type=DataType.TEXT_ARRAY if array else DataType.TEXT,
        tokenization=Tokenization.WORD if searchable else tokenization,
        index_searchable=searchable, index_filterable=True,
    )


def policy_collection(name: str, *, multi_tenancy: bool) -> dict[str, Any]:
    """Keyword arguments for client.collections.create()."""
    return dict(
        name=name,
        description="supportbot policy chunks (managed by `supportbot index`)",
        vector_config=Configure.Vectors.self_provided(
            vector_index_config=Configure.VectorIndex.hnsw(distance_metric=VectorDistances.COSINE),
        ),
        inverted_index_config=Configure.inverted_index(bm25_k1=1.2, bm25_b=0.75),
        multi_tenancy_config=(Configure.multi_tenancy(enabled=True, auto_tenant_creation=False)
                              if multi_tenancy else None),
        properties=[
            _text("text", searchable=True),
            _text("title", searchable=True),
            _text("source_url"),
            _text("audience"),
            _text("document_id"),
            Property(name="chunk_index", data_type=DataType.INT),
            Property(name="chunk_count", data_type=DataType.INT),
            _text("heading_path", array=True),
            _text("content_hash"),
            _text("source_path"),
        ],
    )


def meta_collection(name: str) -> dict[str, Any]:
    return dict(
        name=name,
        description="supportbot index generations (managed by `supportbot index`)",
        vector_config=Configure.Vectors.self_provided(),
        properties=[
            _text("alias"), _text("tenant"), Property(name="generation", data_type=DataType.INT),
            _text("embedding_model"), _text("shard"), _text("updated_at"),
        ],
    )


def chunk_properties(chunk: Chunk, chunk_count: int) -> dict[str, Any]:
    return {
        "text": chunk.text, "title": chunk.title, "source_url": chunk.url,
        "audience": chunk.audience, "document_id": chunk.document_id,
        "chunk_index": chunk.index, "chunk_count": chunk_count,
        "heading_path": list(chunk.headings), "content_hash": chunk.content_hash,
        "source_path": chunk.path,
    }


def chunk_from_properties(object_id: str, props: dict[str, Any]) -> Chunk:
    return Chunk(
        id=object_id, document_id=props["document_id"], index=int(props["chunk_index"]),
        text=props["text"], title=props.get("title") or "", url=props.get("source_url") or "",
        audience=props["audience"], headings=tuple(props.get("heading_path") or ()),
        content_hash=props.get("content_hash") or "", path=props.get("source_path") or "",
    )
