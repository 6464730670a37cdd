"""Where the shipped decline line falls on the sample knowledge base (the one `supportbot ask` tries).

The decline model was fitted on doc2dial's government pages. On the sample retailer's pages it
answers the questions below that the pages answer, and declines off-topic requests and near misses
(retail questions the pages do not answer), which score in the same band as a few answerable
questions it still declines (the strict xfail lists them; README "The decline model").
"""

import pytest

from bot.answering.retrieval import Retriever
from bot.knowledge.stores.local import LocalHybridIndex
from bot.types import Audience

ANSWERED = [
    ("Can I return an opened item after 30 days?", "returns-and-refunds"),
    ("How long do refunds take?", "returns-and-refunds"),
    ("Do points expire?", "loyalty-program"),
    ("How much does shipping cost?", "shipping"),
    ("Do you ship to Canada?", "shipping"),
    ("How do I reset my password?", "accounts"),
    ("How do I clean my tent?", "product-care"),
    ("What does the warranty cover?", "warranty"),
    ("Can I cancel my order?", "orders"),
    ("What payment methods do you accept?", "billing-and-payments"),
]
# Retail questions the pages do not answer: grounding them would quote a wrong passage.
NEAR_MISSES = [
    "What are your store opening hours?",
    "What is the refund exception limit?",  # a staff-only page: a customer must not get it
    "Can I rent a tent?",
    "Do you offer gift wrapping?",
    "Do you sell bicycles?",
    "Who is your CEO?",
]
OFF_TOPIC = ["What's the weather in Paris?", "Book me a flight to Denver", "Tell me a joke",
             "How do I bake sourdough bread?"]
# Answered by the pages but declined by the doc2dial-fitted line (scores -2.3 to -0.1, inside
# the near misses' band): a signal that tells them apart is open work.
DECLINED_ALTHOUGH_ANSWERED = ["Do gift cards expire?", "Can I use two gift cards on one order?",
                              "Is my backpack covered by warranty?", "What is the restocking fee?",
                              "How do I delete my account?"]


@pytest.fixture
def retriever(sample_settings, embeddings):
    return Retriever(LocalHybridIndex(sample_settings.index_dir), embeddings, sample_settings.retrieval)


@pytest.mark.parametrize("question,page", ANSWERED)
def test_questions_the_pages_answer_are_answered_from_their_page(retriever, question, page):
    found = retriever.retrieve(question, Audience.PUBLIC)
    assert found.grounded
    assert found.hits[0].chunk.document_id.startswith(page)


@pytest.mark.parametrize("question", NEAR_MISSES + OFF_TOPIC)
def test_near_misses_and_off_topic_requests_are_declined(retriever, question):
    assert not retriever.retrieve(question, Audience.PUBLIC).grounded


@pytest.mark.xfail(strict=True, reason="the doc2dial-fitted decline line; see the module docstring")
@pytest.mark.parametrize("question", DECLINED_ALTHOUGH_ANSWERED)
def test_answerable_questions_the_line_still_declines(retriever, question):
    assert retriever.retrieve(question, Audience.PUBLIC).grounded
