import json
from pathlib import Path

from bot.knowledge.loaders import load_sources
from bot.settings import KnowledgeSource
from tests.conftest import SAMPLE_KB


def _load(path: Path, audience="public"):
    return load_sources([KnowledgeSource(path=path, audience=audience)])


def _by_id(result):
    return {d.id: d for d in result.documents}


def test_markdown_front_matter_gives_id_title_url_and_headings():
    docs = _by_id(_load(SAMPLE_KB / "public"))
    returns = docs["returns-and-refunds"]
    assert returns.title == "Returns and refunds"
    assert returns.url == "https://help.harborandpine.example/policies/returns"
    assert returns.audience == "public" and returns.format == "markdown"
    assert "The 30-day return window" in returns.headings
    assert not returns.text.startswith("---")


def test_html_metadata_and_inline_text_are_kept():
    docs = _by_id(_load(SAMPLE_KB / "public"))
    account = docs["accounts.html"]
    assert account.title == "Your account"
    assert account.url == "https://help.harborandpine.example/account"
    assert account.format == "html"
    assert "# Your account" in account.text and "## Creating an account" in account.text
    # Text inside inline elements (<strong>, <a>) must survive the conversion.
    assert "Sign in" in account.text and "Create account." in account.text


def test_pdf_text_with_title_and_url_from_the_mapping_file():
    docs = _by_id(_load(SAMPLE_KB / "public"))
    warranty = docs["warranty.pdf"]
    assert warranty.title == "Warranty policy"
    assert warranty.url == "https://help.harborandpine.example/policies/warranty"
    assert "manufacturing defect" in warranty.text.lower()


def test_a_document_without_a_url_gets_no_link_and_a_warning(tmp_path):
    (tmp_path / "gift-cards.txt").write_text("Gift cards never expire.")
    (tmp_path / "store-hours.md").write_text("Open nine to five.\n")  # no front matter, no heading
    result = _load(tmp_path)
    docs = _by_id(result)
    assert docs["gift-cards.txt"].title == "Gift cards" and docs["store-hours.md"].title == "Store hours"
    assert all(d.url == "" for d in docs.values())  # never the repository path as a "source link"
    assert {(Path(w.path).name, w.missing) for w in result.warnings} == {
        ("gift-cards.txt", ("url", "title")), ("store-hours.md", ("url", "title"))}
    assert "store-hours.md: no url and no title" in str(result.warnings[1])


def test_base_url_composes_a_link_for_documents_without_one(tmp_path):
    (tmp_path / "care").mkdir()
    (tmp_path / "care" / "tents.md").write_text("# Tent care\n\nDry it before storing.\n")
    (tmp_path / "own.md").write_text("---\nurl: https://elsewhere.example/own\n---\n# Own\n\nText.\n")
    (tmp_path / "corpus.jsonl").write_text(json.dumps({"id": "gift cards", "title": "Gifts", "text": "t"}) + "\n")
    result = load_sources([KnowledgeSource(path=tmp_path, base_url="https://help.example.com/policies/")])
    docs = _by_id(result)
    assert docs["care/tents.md"].url == "https://help.example.com/policies/care/tents"
    assert docs["own.md"].url == "https://elsewhere.example/own"  # a document's own url wins
    assert docs["gift cards"].url == "https://help.example.com/policies/gift%20cards"
    assert result.warnings == []  # titles from the heading and the record; urls composed


def test_base_url_must_be_a_web_address():
    import pytest

    from bot.settings import SettingsError, load_settings

    with pytest.raises(SettingsError, match="knowledge.0.base_url: Value error, must start with http"):
        load_settings(None, knowledge=[{"path": "kb", "base_url": "help.example.com"}])


def test_jsonl_corpus_lines_become_documents(tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("\n".join(json.dumps(r) for r in [
        {"id": "a#1", "title": "Alpha", "url": None, "text": "alpha text", "domain": "x"},
        {"id": "b#1", "title": "Beta", "url": "https://b.test", "text": "beta text"},
    ]))
    docs = _by_id(_load(corpus))
    assert docs["a#1"].title == "Alpha" and docs["a#1"].extra == {"domain": "x"}
    assert docs["a#1"].url == ""  # no link rather than a file path
    assert docs["b#1"].url == "https://b.test"


def test_broken_jsonl_line_is_reported_with_its_number(tmp_path):
    corpus = tmp_path / "bad.jsonl"
    corpus.write_text('{"id": "a", "text": "ok"}\n{"title": "no id"}\n')
    result = _load(corpus)
    assert result.documents == []
    assert "line 2" in str(result.errors[0]) and "bad.jsonl" in str(result.errors[0])


def test_staff_folder_wins_over_public_front_matter(tmp_path):
    (tmp_path / "secret.md").write_text("---\ntitle: Secret\naudience: public\n---\n# Secret\n\nx")
    assert _load(tmp_path, audience="staff").documents[0].audience == "staff"


def test_staff_front_matter_wins_over_public_folder(tmp_path):
    (tmp_path / "secret.md").write_text("---\ntitle: Secret\naudience: staff\n---\n# Secret\n\nx")
    assert _load(tmp_path, audience="public").documents[0].audience == "staff"


def test_sample_staff_documents_are_staff_only():
    result = load_sources([KnowledgeSource(path=SAMPLE_KB / "staff", audience="staff")])
    assert {d.audience for d in result.documents} == {"staff"}
    assert len(result.documents) >= 2


def test_unreadable_file_is_reported_and_others_still_load(tmp_path):
    (tmp_path / "good.md").write_text("# Good\n\nFine text.")
    (tmp_path / "broken.md").write_bytes(b"# Broken\n\xff\xfe not utf-8")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 garbage")
    result = _load(tmp_path)
    assert [d.id for d in result.documents] == ["good.md"]
    messages = " ".join(str(e) for e in result.errors)
    assert "broken.md" in messages and "UTF-8" in messages
    assert "broken.pdf" in messages
    assert len(result.failed_paths) == 2


def test_missing_folder_is_an_error_not_a_crash(tmp_path):
    result = _load(tmp_path / "nope")
    assert result.documents == [] and "does not exist" in str(result.errors[0])


def test_duplicate_ids_are_refused(tmp_path):
    for name in ("a.md", "b.md"):
        (tmp_path / name).write_text("---\nid: same\n---\n# T\n\ntext")
    result = _load(tmp_path)
    assert len(result.documents) == 1
    assert "also used by" in str(result.errors[0])
