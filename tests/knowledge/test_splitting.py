from bot.knowledge.loaders import PolicyDocument
from bot.knowledge.splitting import Splitter, chunk_id
from bot.settings import ChunkingSettings


def _doc(text, fmt="markdown"):
    return PolicyDocument(id="d1", title="Doc title", url="https://x.test/d1", audience="staff",
                          text=text, format=fmt, path="d1.md")


def test_chunks_carry_heading_path_and_document_metadata():
    text = "# Returns\n\nIntro.\n\n## Opened items\n\nOpened items get store credit.\n\n### After 30 days\n\nNo returns."
    chunks = Splitter(ChunkingSettings()).split(_doc(text), "hash1")
    by_text = {c.text: c for c in chunks}
    assert by_text["Opened items get store credit."].headings == ("Returns", "Opened items")
    assert by_text["No returns."].headings == ("Returns", "Opened items", "After 30 days")
    assert all(c.url == "https://x.test/d1" and c.audience == "staff" and c.content_hash == "hash1"
               for c in chunks)
    assert by_text["No returns."].embedding_text().startswith("Doc title > Returns > Opened items > After 30 days")


def test_long_sections_are_bounded_in_size():
    sentence = "Refunds are issued to the original payment method within ten days. "
    text = "# Big\n\n" + sentence * 60
    chunks = Splitter(ChunkingSettings(chunk_size=300, chunk_overlap=50)).split(_doc(text), "h")
    assert len(chunks) > 5
    assert all(len(c.text) <= 300 for c in chunks)
    assert [c.index for c in chunks] == list(range(len(chunks)))


def test_plain_text_uses_the_title_as_heading():
    chunks = Splitter(ChunkingSettings()).split(_doc("Just text.", fmt="pdf"), "h")
    assert chunks[0].headings == ("Doc title",)


def test_chunk_ids_are_deterministic_and_separator_safe():
    assert chunk_id("doc", 1) == chunk_id("doc", 1)
    assert chunk_id("a1", 0) != chunk_id("a", 10)
    first = Splitter(ChunkingSettings()).split(_doc("# A\n\ntext"), "h")
    second = Splitter(ChunkingSettings()).split(_doc("# A\n\ntext"), "h")
    assert [c.id for c in first] == [c.id for c in second]
