"""Loading policy documents from the configured folders and JSONL corpora.

Every document gets an id, a title, a source URL, an audience and its text. Where the metadata
comes from, by format:

- Markdown: YAML front matter (id, title, url, audience), else the first heading.
- HTML: <title>, <link rel="canonical">, <meta name="audience">; converted to Markdown-style
  text so the same header-aware splitter handles both.
- PDF and plain text: a ``sources.toml`` in the folder maps file names to title and url; the PDF's
  own title metadata is the next choice.
- JSONL: one document per line with id, title, url and text.
`document_from` decides the final metadata in one place. A document with no URL of its own gets
one only from its folder's `base_url`, never from its file path (a repository path is not a page
a customer can open): it is cited by title alone, and `supportbot index` lists it in its
warnings, as it does a document whose title had to be made from its file name. A document is
staff-only if its folder or its own metadata says so: the stricter setting always wins.

Metadata is untrusted and fails closed:
- audience: exactly `public` or `staff`. Anything else (`Staff`, `internal`, `[staff]`, a list…)
  makes the document staff-only and is listed in the warnings by file, saying what to write.
- url: an explicit url must be an http(s) address without `<`, `>`, `|`, spaces or control
  characters (they would break out of a Slack or Discord link). A bad one is listed in the
  warnings and the document is indexed without a link.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

import frontmatter
from bs4 import BeautifulSoup
from pypdf import PdfReader
from pypdf.errors import PyPdfError

from bot.knowledge.cleaning import clean_html, clean_markdown
from bot.settings import KnowledgeSource

SUFFIX_FORMATS = {
    ".md": "markdown", ".markdown": "markdown",
    ".html": "html", ".htm": "html",
    ".pdf": "pdf",
    ".txt": "text",
    ".jsonl": "jsonl",
}
SKIPPED_NAMES = {"README.md", "sources.toml"}
MAPPING_FILE = "sources.toml"


@dataclass
class PolicyDocument:
    id: str
    title: str
    url: str
    audience: str
    text: str  # Markdown-style text: headings as '#' lines for markdown and html
    format: str
    path: str
    extra: dict = field(default_factory=dict)
    missing_metadata: tuple[str, ...] = ()  # "url", "title": for the index's warning list
    metadata_problems: tuple[str, ...] = ()  # unusable audience or url, made safe: for the same list

    @property
    def headings(self) -> list[str]:
        return [line.lstrip("#").strip() for line in self.text.splitlines()
                if self.format in ("markdown", "html") and line.startswith("#")]

    def content_hash(self, pipeline: str) -> str:
        """Changes when the text, the metadata or the processing pipeline changes."""
        digest = hashlib.sha256()
        for part in (pipeline, self.id, self.title, self.url, self.audience, self.format, self.text):
            digest.update(part.encode("utf-8") + b"\0")
        return digest.hexdigest()


class DocumentLoadError(Exception):
    """A policy file that cannot be read; the message names the file and what to do."""

    def __init__(self, path: Path | str, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")


@dataclass(frozen=True)
class MetadataWarning:
    """A document that was indexed but lacks what customers see (a link, a real title), or whose
    metadata was unusable (an unknown audience, a bad url) and was made safe."""

    path: str
    missing: tuple[str, ...]  # "url", "title"
    problems: tuple[str, ...] = ()  # what was wrong and what the indexer did about it

    def __str__(self) -> str:
        said = [f"no {' and no '.join(self.missing)}"] if self.missing else []
        return f"{self.path}: {'; '.join(said + list(self.problems))}"


@dataclass
class LoadResult:
    documents: list[PolicyDocument]
    errors: list[DocumentLoadError]
    # Documents of files that failed to load keep their indexed chunks; these are their paths.
    failed_paths: set[str] = field(default_factory=set)
    warnings: list[MetadataWarning] = field(default_factory=list)


AUDIENCES = ("public", "staff")
_NOT_IN_A_LINK = set("<>|")


def stricter(*audiences: str | None) -> str:
    """Public only if every stated audience is exactly "public" (None: not stated)."""
    return "public" if all(a in (None, "public") for a in audiences) else "staff"


def checked_audience(value: object) -> tuple[str | None, str | None]:
    """(audience, problem): None if not stated; anything but exactly public/staff is staff-only."""
    if value is None or value == "":
        return None, None
    if value in AUDIENCES:
        return str(value), None
    hint = " (write it in lower case)" if isinstance(value, str) and value.strip().lower() in AUDIENCES else ""
    return "staff", (f"audience {value!r} is not public or staff{hint}: indexed as staff-only")


def url_problem(url: str) -> str | None:
    """Why `url` cannot be a document's link, or None if it can."""
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        return "is not an http(s) address"
    if _NOT_IN_A_LINK & set(url) or any(c.isspace() or not c.isprintable() for c in url):
        return "contains <, >, |, spaces or control characters"
    return None


def load_sources(sources: list[KnowledgeSource]) -> LoadResult:
    """Load every document of every source; a broken file or loader is reported, never fatal."""
    from bot.knowledge.connectors import load_with_loader, loader_path

    result = LoadResult(documents=[], errors=[])
    seen: dict[str, str] = {}
    for source in sources:
        if source.loader is not None:  # a LangChain document loader (connectors.py)
            _add_documents(result, seen, loader_path(source), lambda s=source: load_with_loader(s))
            continue
        try:
            paths = _files_of(source.path)
        except DocumentLoadError as error:
            result.errors.append(error)
            result.failed_paths.add(str(source.path))
            continue
        for path in paths:
            _add_documents(result, seen, path.as_posix(), lambda p=path, s=source: load_file(p, s))
    return result


def _add_documents(result: LoadResult, seen: dict[str, str], origin: str,
                   load: Callable[[], Iterable[PolicyDocument]]) -> None:
    """One file's (or loader's) documents into the result; on failure, `origin` keeps its chunks."""
    try:
        documents = list(load())
    except DocumentLoadError as error:
        result.errors.append(error)
        result.failed_paths.add(origin)
        return
    for document in documents:
        if document.id in seen:
            result.errors.append(DocumentLoadError(
                origin, f"document id {document.id!r} is also used by {seen[document.id]}; "
                "give one of them another 'id' in its front matter."))
            continue
        seen[document.id] = document.path
        result.documents.append(document)
        if document.missing_metadata or document.metadata_problems:
            result.warnings.append(MetadataWarning(document.path, document.missing_metadata,
                                                   document.metadata_problems))


def _files_of(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise DocumentLoadError(root, "this knowledge folder does not exist; create it or fix "
                                      "'knowledge' in the settings file.")
    return sorted(
        path for path in root.rglob("*")
        if path.is_file() and path.suffix.lower() in SUFFIX_FORMATS
        and path.name not in SKIPPED_NAMES and not path.name.startswith((".", "_"))
    )


def load_file(path: Path, source: KnowledgeSource) -> Iterator[PolicyDocument]:
    fmt = SUFFIX_FORMATS.get(path.suffix.lower())
    loader = {"markdown": _load_markdown, "html": _load_html, "pdf": _load_pdf,
              "text": _load_text, "jsonl": _load_jsonl}.get(fmt or "")
    if loader is None:
        raise DocumentLoadError(path, f"unsupported file type {path.suffix!r}; use one of "
                                      + ", ".join(sorted(SUFFIX_FORMATS)))
    try:
        yield from loader(path, source)
    except DocumentLoadError:
        raise
    except (OSError, UnicodeDecodeError) as exc:
        raise DocumentLoadError(path, f"cannot be read ({exc}); check the file's permissions "
                                      "and save text files as UTF-8.") from None


def _relative_id(path: Path, source: KnowledgeSource) -> str:
    root = source.path if source.path.is_dir() else source.path.parent
    return path.relative_to(root).as_posix()


def _mapping_for(path: Path) -> dict:
    mapping_file = path.parent / MAPPING_FILE
    if not mapping_file.is_file():
        return {}
    try:
        mapping = tomllib.loads(mapping_file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise DocumentLoadError(mapping_file, f"is not valid TOML ({exc}).") from None
    entry = mapping.get(path.name, {})
    return entry if isinstance(entry, dict) else {}


def _load_markdown(path: Path, source: KnowledgeSource) -> Iterator[PolicyDocument]:
    raw = path.read_text(encoding="utf-8")
    try:
        post = frontmatter.loads(raw)
    except Exception as exc:  # the YAML parser raises several unrelated types
        raise DocumentLoadError(path, f"has front matter that is not valid YAML ({exc}).") from None
    meta = {**_mapping_for(path), **post.metadata}
    body = clean_markdown(post.content).strip()  # hidden comments and elements never reach the model
    first_heading = next((l.lstrip("#").strip() for l in body.splitlines() if l.startswith("# ")), "")
    yield document_from(path, source, meta, text=body, fmt="markdown", titles=(first_heading,))


# get_text(" ") puts a space between inline elements, including before "." after </strong>.
_SPACE_BEFORE_PUNCTUATION = re.compile(r"\s+([.,;:!?)])")
BLOCK_TAGS = ["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "pre", "blockquote", "td", "dt", "dd"]


def html_to_markdown(soup: BeautifulSoup) -> str:
    """Block-level text of an HTML body, headings as '#' lines, list items as '- ' lines."""
    root = soup.body or soup
    lines: list[str] = []
    for element in root.find_all(BLOCK_TAGS):
        if element.find_parent(BLOCK_TAGS) is not None and element.name not in ("li",):
            continue  # its text is already part of the enclosing block
        if element.name == "li" and element.find(BLOCK_TAGS) is not None:
            # Keep only the item's own words; its nested blocks are visited on their own.
            text = element.find(string=True, recursive=False) or ""
        else:
            text = element.get_text(" ", strip=True)
        text = _SPACE_BEFORE_PUNCTUATION.sub(r"\1", " ".join(text.split()))
        if not text:
            continue
        if element.name[0] == "h" and element.name[1:].isdigit():
            lines.append("")
            lines.append("#" * int(element.name[1:]) + " " + text)
        elif element.name == "li":
            lines.append("- " + text)
        else:
            lines.append("")
            lines.append(text)
    return "\n".join(lines).strip()


def _load_html(path: Path, source: KnowledgeSource) -> Iterator[PolicyDocument]:
    soup = clean_html(BeautifulSoup(path.read_text(encoding="utf-8"), "lxml"))  # hidden content out
    meta = _mapping_for(path)
    canonical = soup.find("link", rel="canonical")
    audience_tag = soup.find("meta", attrs={"name": "audience"})
    id_tag = soup.find("meta", attrs={"name": "document-id"})
    heading = soup.find("h1")
    text = html_to_markdown(soup)
    if not text:
        raise DocumentLoadError(path, "has no text in its <body>.")
    page_audience = audience_tag.get("content") if audience_tag else None
    meta = {
        "id": (id_tag and id_tag.get("content")) or meta.get("id"),
        "title": meta.get("title"),
        "url": meta.get("url") or (canonical and canonical.get("href")),
        "audience": (meta.get("audience"), page_audience),  # both count: document_from takes the stricter
    }
    yield document_from(path, source, meta, text=text, fmt="html", titles=(
        soup.title.get_text(strip=True) if soup.title else "", heading.get_text(" ", strip=True) if heading else ""))


def _load_pdf(path: Path, source: KnowledgeSource) -> Iterator[PolicyDocument]:
    try:
        reader = PdfReader(path)
        pages = [page.extract_text() or "" for page in reader.pages]
        pdf_title = (reader.metadata.title if reader.metadata else None) or ""
    except (PyPdfError, ValueError, KeyError) as exc:
        raise DocumentLoadError(path, f"is not a readable PDF ({exc}); re-export it.") from None
    text = "\n\n".join(page.strip() for page in pages if page.strip())
    if not text:
        raise DocumentLoadError(path, "has no extractable text (a scanned PDF?); export it with "
                                      "a text layer or convert it to Markdown.")
    yield document_from(path, source, _mapping_for(path), text=text, fmt="pdf", titles=(pdf_title,))


def _load_text(path: Path, source: KnowledgeSource) -> Iterator[PolicyDocument]:
    text = path.read_text(encoding="utf-8").strip()
    yield document_from(path, source, _mapping_for(path), text=text, fmt="text")


def _load_jsonl(path: Path, source: KnowledgeSource) -> Iterator[PolicyDocument]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                doc_id, text = str(record["id"]), str(record["text"])
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise DocumentLoadError(path, f"line {number} is not a JSON object with 'id' and "
                                              f"'text' ({exc}).") from None
            extras = {k: v for k, v in record.items() if k not in ("id", "title", "url", "text", "audience")}
            meta = {"id": doc_id, **{k: record.get(k) for k in ("title", "url", "audience")}}
            yield document_from(path, source, meta, text=clean_markdown(text).strip(), fmt="jsonl", extra=extras,
                                url_path=doc_id, fallback_title=doc_id)


def document_from(path: Path, source: KnowledgeSource, meta: dict, *, text: str, fmt: str,
                  titles: tuple[str, ...] = (), extra: dict | None = None, url_path: str | None = None,
                  fallback_title: str | None = None) -> PolicyDocument:
    """The document's final id, title, URL and audience from what its format provided.

    `meta` holds the explicit metadata (front matter, sources.toml, HTML tags, a JSONL record);
    `titles` are the document's own fallbacks (first heading, <title>, PDF title), in order. What
    is still missing afterwards is recorded for the index's warning list.
    """
    missing: list[str] = []
    problems: list[str] = []
    url = str(meta.get("url") or "").strip()
    if not url and source.base_url:
        url = compose_url(source.base_url, url_path or Path(_relative_id(path, source)).with_suffix("").as_posix())
    if url and (problem := url_problem(url)):
        problems.append(f"url {url[:200]!r} {problem}: indexed without a link")
        url = ""
    elif not url:
        missing.append("url")
    stated = meta.get("audience")
    audiences = []
    for value in stated if isinstance(stated, tuple) else (stated,):
        audience, problem = checked_audience(value)
        audiences.append(audience)
        problems += [problem] if problem else []
    title = str(meta.get("title") or next((t for t in titles if t and t.strip()), "")).strip()
    if not title:
        missing.append("title")
        title = fallback_title or path.stem.replace("-", " ").replace("_", " ").capitalize()
    return PolicyDocument(
        id=str(meta.get("id") or _relative_id(path, source)), title=title, url=url,
        audience=stricter(source.audience, *audiences), text=text, format=fmt,
        path=path.as_posix(), extra=extra or {}, missing_metadata=tuple(missing),
        metadata_problems=tuple(problems),
    )


def compose_url(base_url: str, page: str) -> str:
    """("https://help.example.com/policies/", "care/tents") -> ".../policies/care/tents"."""
    return base_url.rstrip("/") + "/" + quote(page)
