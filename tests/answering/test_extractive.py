"""The offline answer: whole pieces of policy (a sentence with the list it introduces), in the
policy's order, a few per source, never ending on a colon; and each sample document answers
questions about its sections with their substance."""

import pytest

from bot.answering.passages import pieces_of
from bot.service import SupportBot
from bot.types import Audience, ConversationKey, Inquiry
from bot.wiring import build_bot

FINAL_SALE = """The following cannot be returned or exchanged unless they are defective:

- Clearance items marked "Final sale" on the product page
- Pine Points gift cards, physical or digital
- Personalised items, such as embroidered packs or engraved mugs and cookware

Exchanges are free for your first exchange on an order."""


def _lines(text: str) -> list[list[str]]:
    return [piece.lines() for piece in pieces_of(text)]


def test_a_sentence_that_introduces_a_list_keeps_its_items():
    pieces = _lines(FINAL_SALE)
    assert pieces[0] == ["The following cannot be returned or exchanged unless they are defective:",
                         '- Clearance items marked "Final sale" on the product page',
                         "- Pine Points gift cards, physical or digital",
                         "- Personalised items, such as embroidered packs or engraved mugs and cookware"]
    assert pieces[1] == ["Exchanges are free for your first exchange on an order."]


def test_steps_table_rows_and_plain_text_lines_stay_with_their_introduction():
    steps = "To start a return:\n1. Find your order number.\n2. Open the return portal.\n\n3. Print the label."
    assert _lines(steps) == [["To start a return:", "1. Find your order number.", "2. Open the return portal.",
                              "3. Print the label."]]
    table = "Shipping costs by option:\n| Option | Price |\n|---|---:|\n| Standard | $6.95 |\n| Overnight | $29.95 |"
    assert _lines(table)[0][1:] == ["| Option | Price |", "| Standard | $6.95 |", "| Overnight | $29.95 |"]
    plain = ("You can apply in one of these ways:\nSend a completed form to your center\nApply online\n"
             "A long paragraph that follows the list and is not part of it, because it is far longer than "
             "any item of a list would be: it goes on to explain several things at length, in more than "
             "two hundred characters, so it is read as text.")
    assert _lines(plain)[0] == ["You can apply in one of these ways:", "- Send a completed form to your center",
                                "- Apply online"]


def test_an_introduction_whose_list_is_missing_is_never_quoted():
    cut = "Points are calculated after discounts. You do not earn points on:"
    assert _lines(cut) == [["Points are calculated after discounts."]]


def test_wrapped_lines_abbreviations_and_cut_first_sentences_are_read_as_sentences():
    pdf = ("made, we will make it right. This policy applies to customers in the United States.\n"
           "- Harbor & Pine products have a 2-year limited warranty, counted from the original purchase\n"
           "date shown on your receipt.\n"
           "Overnight orders must be placed before 12:00 p.m. Pacific time to ship the same day.")
    pieces = _lines(pdf)
    assert ["- Harbor & Pine products have a 2-year limited warranty, counted from the original purchase "
            "date shown on your receipt."] in pieces
    assert ["Overnight orders must be placed before 12:00 p.m. Pacific time to ship the same day."] in pieces
    assert [piece.lines() for piece in pieces_of(pdf, continued=True)][0] == [
        "This policy applies to customers in the United States."]


def test_a_pdf_heading_line_labels_the_list_below_it():
    assert _lines("What is not covered\n- Normal wear and tear\n- Accidents")[0] == [
        "What is not covered", "- Normal wear and tear", "- Accidents"]


@pytest.fixture
def bot(sample_settings, embeddings) -> SupportBot:
    settings = sample_settings.model_copy(update={
        "rate_limit": sample_settings.rate_limit.model_copy(update={"enabled": False})})
    return build_bot(settings, embeddings=embeddings, answerer=None, long_running=False)


async def _answer(bot: SupportBot, question: str, audience: str = "public"):
    return await bot.answer(Inquiry(text=question, conversation=ConversationKey("test", "c", question),
                                    user_id="u", audience=Audience(audience)))


# One question per sample document, each about one section, with what its answer must carry.
SECTIONS = [
    ("returns-and-refunds", "Can I return sale items?", "public",
     ["cannot be returned or exchanged", "Clearance items", "gift cards", "Personalised items"]),
    ("returns-and-refunds", "How do I start a return?", "public",
     ["1. Find your order number", "4. Pack the items securely"]),
    ("shipping", "What should I do if my parcel is lost?", "public",
     ["within 14 days", "Your order number", "Photos of the damaged box"]),
    ("loyalty-program", "What happens to my points when I return an item?", "public",
     ["Pending points", "deducted from your balance"]),
    ("warranty.pdf", "How do I file a warranty claim?", "public",
     ["Fill in the warranty form", "Attach clear photos"]),
    ("orders", "Can I cancel my order?", "public", ["within 1 hour of placing it"]),
    ("privacy", "Do you sell my personal data?", "public", ["do not sell or rent your personal information"]),
    ("product-care", "How do I re-proof my rain jacket?", "public", ["DWR"]),
    ("accounts.html", "How do I reset a forgotten password?", "public", ["reset link", "60 minutes"]),
    ("billing-and-payments.html", "Which payment methods do you accept?", "public",
     ["Visa, Mastercard", "PayPal", "Apple Pay"]),
    ("escalation-rules", "When should I escalate a contact?", "staff", ["Legal threats", "Product safety"]),
    ("refund-exceptions", "How much can a frontline agent approve as a refund exception?", "staff", ["$250"]),
]


@pytest.mark.parametrize("document, question, audience, substance", SECTIONS,
                         ids=[f"{s[0]}: {s[1]}" for s in SECTIONS])
async def test_every_sample_document_answers_with_the_sections_substance(bot, document, question, audience,
                                                                          substance):
    answer = await _answer(bot, question, audience)
    assert answer.mode == "extractive", answer.text
    assert answer.sources[0].document_id == document
    for words in substance:
        assert words in answer.text, f"{words!r} missing from:\n{answer.text}"
    quoted = [line for line in answer.text.splitlines() if line.startswith(">")]
    assert not answer.text.rstrip().endswith(":") and quoted[-1].endswith("]")


async def test_quotes_keep_the_policys_order_and_a_few_per_source(bot):
    answer = await _answer(bot, "When do my points expire and what happens when I close my account?")
    pieces = [block for block in answer.text.split("\n>\n")]
    assert len(pieces) <= 4
    for number in {s.number for s in answer.sources}:
        assert sum(f"[{number}]" in piece for piece in pieces) <= 3
    expiry, forfeit = answer.text.find("18 months of inactivity"), answer.text.find("forfeits all points")
    assert 0 <= expiry < forfeit  # the page says expiry first, then what closing an account does
