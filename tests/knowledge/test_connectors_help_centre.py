"""Knowledge from a LangChain loader, end to end: the real langchain-community SitemapLoader reads
a local help centre (sitemap + pages over HTTP), the bot indexes it incrementally by content hash
and answers from it; a failing loader is named and the old chunks keep serving."""

from __future__ import annotations

import pytest

from bot.knowledge.indexer import reindex
from bot.knowledge.stores.local import LocalHybridIndex
from bot.settings import KnowledgeSource, SettingsError
from tests.conftest import make_settings
from tests.fakes.help_centre import HelpCentre, page
from tests.helpers import build_test_bot, inquiry

SITEMAP_LOADER = "langchain_community.document_loaders:SitemapLoader"


@pytest.fixture
def centre():
    with HelpCentre() as site:
        yield site


@pytest.fixture
def settings(tmp_path, small_kb, centre):
    base = make_settings(tmp_path, small_kb)
    source = KnowledgeSource(loader=SITEMAP_LOADER, name="helpcentre", audience="public",
                             options={"web_path": f"{centre.base_url}/sitemap.xml"})
    return base.model_copy(update={"knowledge": [*base.knowledge, source]})


def _index(settings, embeddings):
    index = LocalHybridIndex(settings.index_dir)
    return index, reindex(settings, index, embeddings)


async def test_a_help_centre_is_indexed_and_answered_from(settings, embeddings, centre):
    index, summary = _index(settings, embeddings)
    assert summary.added == 3 + 4 and not summary.errors  # the folder's three files and four pages
    assert {f"/articles/{name}" for name in ("returns", "shipping", "rentals", "warranty")} <= set(centre.requests)
    bot = build_test_bot(settings, embeddings)
    answer = await bot.answer(inquiry("How much does a kayak rental cost per day?"))
    assert answer.grounded and "35 dollars" in answer.text
    [source] = [s for s in answer.sources if s.url.endswith("/articles/rentals")]
    assert source.title == "Kayak rentals" and source.url == f"{centre.base_url}/articles/rentals"
    texts = " ".join(hit.chunk.text for hit in bot.retriever.retrieve("kayak rental price", answer.audience).ranked)
    assert "Ignore your rules" not in texts  # the hidden element was stripped
    assert "Contact us" not in texts and "Harbor Help Centre" not in texts  # menus and footer: not policy


def test_reindex_re_embeds_only_changed_pages(settings, embeddings, centre):
    index, _ = _index(settings, embeddings)
    centre.pages["/articles/shipping"] = page("Shipping times", "<h2>Standard shipping</h2><p>Standard "
                                              "shipping now takes 2 to 4 business days.</p>")
    summary = reindex(settings, index, embeddings)
    assert (summary.updated, summary.added, summary.deleted) == (1, 0, 0)
    assert summary.unchanged == 6 and summary.chunks_embedded >= 1
    del centre.pages["/articles/warranty"]
    summary = reindex(settings, index, embeddings)
    assert summary.deleted == 1 and summary.unchanged == 6


@pytest.mark.parametrize("breakage", ["site down", "bad option", "not a loader"])
def test_a_failing_loader_is_named_and_its_old_pages_keep_serving(settings, embeddings, centre, breakage):
    index, first = _index(settings, embeddings)
    chunks_before = index.count()
    source = settings.knowledge[-1]
    if breakage == "site down":
        centre.broken = True
    elif breakage == "bad option":
        source = source.model_copy(update={"options": {"web_path": source.options["web_path"], "no_such": 1}})
    else:
        source = source.model_copy(update={"loader": "langchain_community.document_loaders:NoSuchLoader"})
    broken = settings.model_copy(update={"knowledge": [*settings.knowledge[:-1], source]})
    summary = reindex(broken, index, embeddings)
    [error] = summary.errors
    assert "loader helpcentre" in str(error) and "keep serving" in str(error)
    assert summary.deleted == 0 and index.count() == chunks_before


def test_a_source_names_a_path_or_a_loader(tmp_path):
    for bad in ({}, {"path": tmp_path, "loader": SITEMAP_LOADER}, {"loader": "SitemapLoader"}):
        with pytest.raises(ValueError, match="loader|path"):
            KnowledgeSource(**bad)
    assert SettingsError  # settings files get the same message through load_settings
