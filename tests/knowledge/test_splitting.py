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


DOC2DIAL_LIKE = (
    "\n\nProtect Your Facility License \n\n\n"
    "What to do if a complaint is filed against you \nContact the business manager first. "
    "Keep a copy of all work orders.\n\n"
    "The Hearing Process \nYou are entitled to hire an attorney.\n\n"
    "Bring these documents: a copy of the work order, the receipts.\n\n"
    "How Early Can I Apply? \nApply four months before.\n"
)


def test_plain_text_headings_become_the_heading_path_of_their_section():
    chunks = Splitter(ChunkingSettings()).split(_doc(DOC2DIAL_LIKE, fmt="jsonl"), "h")
    by_heading = {c.headings[-1]: c for c in chunks}
    assert by_heading["The Hearing Process"].headings == (
        "Doc title", "Protect Your Facility License", "The Hearing Process")
    # A block that does not open with a heading stays in the section before it.
    assert "the receipts" in by_heading["The Hearing Process"].text
    assert "receipts" not in by_heading["How Early Can I Apply?"].text
    # Heading lines leave the text and lead the embedded and keyword-indexed text instead.
    assert not any(c.text.startswith("The Hearing Process") for c in chunks)
    assert by_heading["How Early Can I Apply?"].embedding_text().startswith(
        "Doc title > Protect Your Facility License > How Early Can I Apply?\nApply four months")


def test_every_piece_of_a_long_plain_section_carries_its_heading():
    text = "Refund Timing \n" + "Refunds reach the original payment method within ten days. " * 40
    chunks = Splitter(ChunkingSettings(chunk_size=300, chunk_overlap=50)).split(_doc(text, fmt="text"), "h")
    assert len(chunks) > 3
    assert all(c.headings == ("Doc title", "Refund Timing") for c in chunks)


def test_sentences_and_list_lead_ins_are_not_taken_for_headings():
    text = "Opened items get store credit.\nBring:\n- the receipt\n\nNo returns after 30 days."
    chunks = Splitter(ChunkingSettings()).split(_doc(text, fmt="text"), "h")
    assert [c.headings for c in chunks] == [("Doc title",)]
    assert chunks[0].text.startswith("Opened items get store credit.")
