"""Structure-keeping splitting: by headings first, then to a bounded size.

Every chunk carries its document's metadata and the heading path it sits under, so a passage
about "Opened items" still says it belongs to "Returns and refunds > The 30-day return window".
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from langchain_text_splitters import MarkdownHeaderTextSplitter, RecursiveCharacterTextSplitter

from bot.knowledge.loaders import PolicyDocument
from bot.settings import ChunkingSettings

# Deterministic chunk ids: the same document and position always give the same id, in any store.
CHUNK_NAMESPACE = uuid.UUID("5b0f8a8e-3c2d-4c59-9a53-6f1f3c0c9e21")
HEADERS = [("#", "h1"), ("##", "h2"), ("###", "h3"), ("####", "h4")]


def chunk_id(document_id: str, index: int) -> str:
    # The separator cannot occur in the index, so ("a1", 0) and ("a", 10) never collide.
    return str(uuid.uuid5(CHUNK_NAMESPACE, f"{document_id}\x1f{index}"))


@dataclass(frozen=True)
class Chunk:
    id: str
    document_id: str
    index: int
    text: str
    title: str
    url: str
    audience: str
    headings: tuple[str, ...]
    content_hash: str
    path: str = ""  # the file it came from: lets a reindex keep chunks of a file that failed to load

    @property
    def heading(self) -> str:
        return " > ".join(self.headings)

    def embedding_text(self) -> str:
        """What gets embedded and keyword-indexed: the passage under its title and headings."""
        path = [self.title, *[h for h in self.headings if h != self.title]]
        return " > ".join(path) + "\n" + self.text

    def to_record(self) -> dict:
        return {**self.__dict__, "headings": list(self.headings)}

    @classmethod
    def from_record(cls, record: dict) -> Chunk:
        return cls(**{**record, "headings": tuple(record["headings"])})


class Splitter:
    def __init__(self, settings: ChunkingSettings) -> None:
        self._by_heading = MarkdownHeaderTextSplitter(HEADERS, strip_headers=True)
        self._by_size = RecursiveCharacterTextSplitter(
            chunk_size=settings.chunk_size, chunk_overlap=settings.chunk_overlap,
            separators=["\n\n", "\n", ". ", "; ", ", ", " ", ""], keep_separator="end",
        )
        self.signature = f"md-headers+recursive:{settings.chunk_size}/{settings.chunk_overlap}"

    def split(self, document: PolicyDocument, content_hash: str) -> list[Chunk]:
        sections = self._sections(document)
        chunks: list[Chunk] = []
        for headings, text in sections:
            for piece in self._by_size.split_text(text):
                if not piece.strip():
                    continue
                index = len(chunks)
                chunks.append(Chunk(
                    id=chunk_id(document.id, index), document_id=document.id, index=index,
                    text=piece.strip(), title=document.title, url=document.url,
                    audience=document.audience, headings=headings, content_hash=content_hash,
                    path=document.path,
                ))
        return chunks

    def _sections(self, document: PolicyDocument) -> list[tuple[tuple[str, ...], str]]:
        if document.format not in ("markdown", "html"):
            return [((document.title,), document.text)]
        sections = []
        for part in self._by_heading.split_text(document.text):
            headings = tuple(part.metadata[key] for _, key in HEADERS if key in part.metadata)
            sections.append((headings or (document.title,), part.page_content))
        return sections
