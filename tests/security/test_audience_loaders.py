"""Class 5 at index time: document metadata fails closed.

An audience other than exactly `public` or `staff` makes a document staff-only and is reported by
file; a source url that could break out of a link is reported and dropped (the document is still
indexed, without a link). Through the real loaders, for every format that carries metadata.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.knowledge.loaders import load_sources
from bot.settings import KnowledgeSource
from bot.types import Audience

UNKNOWN_AUDIENCES = ["Staff", "STAFF", "[staff]", "internal", "staff-only", " staff", "Public", "PUBLIC",
                     "public ", "customers", "everyone", "private", "true", "0", "publique", "pub\u200blic"]
GOOD_URLS = ["https://help.example.test/returns", "http://help.example.test/a?b=1&c=2#d",
             "https://help.example.test/%3Cpercent-encoded%3E"]
BAD_URLS = ["https://a.example/>|<!channel>", "javascript:alert(1)", "ftp://files.example.test/policy",
            "https://a.example/x y", "https://a.example/<@U123>", "https://a.example/a|b", "//a.example/x",
            "mailto:support@example.test", "https://a.example/\u0000", "data:text/html,hi", "https://",
            "https://a.example/\nline"]


def _load(folder: Path, audience: str = "public"):
    return load_sources([KnowledgeSource(path=folder, audience=audience)])


def _markdown(folder: Path, name: str, **meta) -> Path:
    path = folder / name
    front = "".join(f"{key}: {json.dumps(value)}\n" for key, value in meta.items())
    path.write_text(f"---\n{front}---\n# Title\n\nSome policy text.\n")
    return path


@pytest.mark.parametrize("value", UNKNOWN_AUDIENCES)
def test_an_unknown_audience_in_front_matter_is_staff_only_and_reported(tmp_path, value):
    _markdown(tmp_path, "doc.md", audience=value)
    result = _load(tmp_path)
    [document] = result.documents
    assert document.audience == Audience.STAFF
    assert not Audience.PUBLIC.can_read(document.audience)
    [warning] = result.warnings
    assert warning.path.endswith("doc.md") and "not public or staff" in str(warning) and "staff-only" in str(warning)


@pytest.mark.parametrize("value", [["public"], ["staff"], {"audience": "public"}, 1, True])
def test_an_audience_that_is_not_text_is_staff_only_and_reported(tmp_path, value):
    _markdown(tmp_path, "doc.md", audience=value)
    result = _load(tmp_path)
    assert result.documents[0].audience == "staff"
    assert "not public or staff" in str(result.warnings[0])


@pytest.mark.parametrize("value", ["Staff", "internal", "public "])
def test_an_unknown_audience_in_a_jsonl_record_or_an_html_page_is_staff_only(tmp_path, value):
    (tmp_path / "corpus.jsonl").write_text(json.dumps({"id": "r1", "text": "Policy.", "audience": value,
                                                      "url": "https://a.example/r1", "title": "R"}) + "\n")
    (tmp_path / "page.html").write_text(f'<html><head><title>P</title><meta name="audience" content="{value}">'
                                        '<link rel="canonical" href="https://a.example/p"></head>'
                                        '<body><h1>P</h1><p>Policy text.</p></body></html>')
    result = _load(tmp_path)
    assert {d.audience for d in result.documents} == {"staff"}
    assert sorted(Path(w.path).name for w in result.warnings) == ["corpus.jsonl", "page.html"]


@pytest.mark.parametrize("value", ["public", "staff"])
def test_the_two_exact_values_are_taken_without_a_warning(tmp_path, value):
    _markdown(tmp_path, "doc.md", audience=value, url="https://a.example/doc")
    result = _load(tmp_path)
    assert result.documents[0].audience == value and result.warnings == []


def test_a_staff_folder_stays_staff_whatever_a_document_says(tmp_path):
    _markdown(tmp_path, "doc.md", audience="public", url="https://a.example/doc")
    assert _load(tmp_path, audience="staff").documents[0].audience == "staff"


@pytest.mark.parametrize("url", BAD_URLS)
def test_a_bad_source_url_is_reported_and_the_document_indexed_without_a_link(tmp_path, url):
    _markdown(tmp_path, "doc.md", url=url)
    result = _load(tmp_path)
    [document] = result.documents
    assert document.url == "" and "Some policy text" in document.text
    [warning] = result.warnings
    assert warning.path.endswith("doc.md") and "indexed without a link" in str(warning)


@pytest.mark.parametrize("url", GOOD_URLS)
def test_a_good_source_url_is_kept(tmp_path, url):
    _markdown(tmp_path, "doc.md", url=url)
    result = _load(tmp_path)
    assert result.documents[0].url == url and result.warnings == []


def test_a_bad_canonical_link_in_html_is_dropped_too(tmp_path):
    (tmp_path / "page.html").write_text('<html><head><title>P</title><link rel="canonical" '
                                        'href="https://a.example/>|<!here>"></head><body><p>Text.</p></body></html>')
    result = _load(tmp_path)
    assert result.documents[0].url == "" and "indexed without a link" in str(result.warnings[0])
