"""Knowledge from any LangChain document loader: a help-centre website, Confluence, Notion…

    [[knowledge]]
    loader = "langchain_community.document_loaders:SitemapLoader"
    options = { web_path = "https://help.example.com/sitemap.xml" }
    audience = "public"

Each Document the loader returns becomes a policy document: its id is the source's name and the
page's URL (stable across runs, so a reindex re-embeds only pages whose text changed: the
content hash decides, as for files), its link the metadata's `url_key` ("source"), its title the
`title_key` ("title"). Hidden content is stripped as for files (cleaning.py). For web loaders that
take a `parsing_function`/`meta_function` (SitemapLoader, RecursiveUrlLoader…) the bot passes its
own: hidden elements removed, headings kept as Markdown so passages know their section, the
page's <title> as its title.

A loader that fails (unreachable site, expired token, bad option) is reported by name and
changes nothing: the chunks it indexed before keep serving. langchain-community is optional
(`pip install "supportbot[connectors]"`): its maintainers have sunset it.
"""

from __future__ import annotations

import importlib
import inspect
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bs4 import BeautifulSoup

from bot.answering.links import safe_url
from bot.knowledge.cleaning import clean_html, clean_markdown
from bot.settings import KnowledgeSource

LOADER_PATH_PREFIX = "loader:"  # the `path` of a loader's documents: keeps them when it fails


def source_name(source: KnowledgeSource) -> str:
    return source.name or (source.loader or "").rsplit(":", 1)[-1]


def loader_path(source: KnowledgeSource) -> str:
    return LOADER_PATH_PREFIX + source_name(source)


def load_with_loader(source: KnowledgeSource) -> Iterator[Any]:
    """The loader's Documents as PolicyDocuments; raises DocumentLoadError naming the loader."""
    from bot.knowledge.loaders import DocumentLoadError

    name = source_name(source)
    try:
        loader = _build(source)
        # In a thread of its own: web loaders call asyncio.run(), which fails on a thread that
        # already runs an event loop (a reindex started from the bot's own loop).
        with ThreadPoolExecutor(max_workers=1) as pool:
            documents = pool.submit(lambda: list(loader.lazy_load())).result()
        if not documents:  # an error page parsed as an empty sitemap must not delete every page
            raise LookupError("it returned no documents")
    except Exception as exc:  # any loader, any failure: reported, never fatal to the reindex
        raise DocumentLoadError(
            f"loader {name} ({source.loader})",
            f"failed: {type(exc).__name__}: {exc}. Nothing from it changed: the pages it indexed "
            "before keep serving. Check its options in the settings file, and that the site or "
            "service is reachable.") from None
    seen: set[str] = set()
    for number, document in enumerate(documents, start=1):
        policy = _policy_document(source, name, number, document)
        if policy is not None and policy.id not in seen:
            seen.add(policy.id)
            yield policy


def _build(source: KnowledgeSource) -> Any:
    module_name, _, class_name = (source.loader or "").partition(":")
    with warnings.catch_warnings():  # langchain-community announces its sunset on import
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            cls = getattr(importlib.import_module(module_name), class_name)
        except ImportError as exc:
            raise ImportError(f"{exc}; LangChain's community loaders come with "
                              "`pip install \"supportbot[connectors]\"`") from None
    options = dict(source.options)
    parameters = inspect.signature(cls.__init__).parameters
    if "parsing_function" in parameters and "parsing_function" not in options:
        options["parsing_function"] = page_text
    if "meta_function" in parameters and "meta_function" not in options:
        options["meta_function"] = page_metadata
    return cls(**options)


def page_text(soup: BeautifulSoup) -> str:
    """A fetched page as the bot reads HTML files: hidden content out, headings as '#' lines."""
    from bot.knowledge.loaders import html_to_markdown

    main = soup.find("main") or soup.find("article")  # the help article, not the site's menus
    return html_to_markdown(clean_html(main if main is not None else soup))


def page_metadata(meta: dict, soup: BeautifulSoup) -> dict:
    """A sitemap entry's metadata plus the page's title and declared audience."""
    heading = soup.find("h1")
    title = (soup.title.get_text(strip=True) if soup.title else "") or (heading.get_text(" ", strip=True)
                                                                       if heading else "")
    audience = soup.find("meta", attrs={"name": "audience"})
    return {**meta, "source": meta.get("loc", meta.get("source", "")), "title": title,
            **({"audience": audience.get("content")} if audience else {})}


def _policy_document(source: KnowledgeSource, name: str, number: int, document: Any):
    from bot.knowledge.loaders import PolicyDocument, checked_audience, stricter

    meta = document.metadata or {}
    text = clean_markdown(document.page_content or "").strip()
    if not text:
        return None
    # A file path, an internal id or a URL that could break out of a link is not a link a
    # customer can open: the page is cited by title alone (and listed as missing a URL).
    url = safe_url(str(meta.get(source.url_key) or ""))
    title = " ".join(str(meta.get(source.title_key) or "").split())
    missing = tuple(field for field, value in (("url", url), ("title", title)) if not value)
    key = url or str(meta.get("id") or meta.get(source.url_key) or number)
    # The page's own audience fails closed the way a file's front matter does (loaders.py).
    page_audience, problem = checked_audience(meta.get("audience"))
    return PolicyDocument(
        id=f"{name}/{key}", title=title or f"{name} page {number}", url=url,
        audience=stricter(source.audience, page_audience),
        text=text, format="markdown", path=LOADER_PATH_PREFIX + name, extra={"loader": source.loader},
        missing_metadata=missing, metadata_problems=(problem,) if problem else (),
    )
