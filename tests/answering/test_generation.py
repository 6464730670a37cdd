"""The Claude path: the real anthropic client (via langchain-anthropic) against a local fake,
over both async HTTP transports (`[llm] http_transport`): an answer, a failure and its fallback
must not depend on which one carries the request."""

import pytest

from bot.answering.generation import ClaudeAnswerer
from bot.types import Audience
from tests.conftest import STAFF_CANARY
from tests.fakes.anthropic_server import Echo, FakeAnthropic, HttpError, Reply, Responder, StreamError, request_text
from tests.helpers import build_test_bot, inquiry


@pytest.fixture
def fake():
    with FakeAnthropic() as server:
        yield server


@pytest.fixture(params=["aiohttp", "httpx"])
async def bot(request, sample_settings, embeddings, fake):
    settings = sample_settings.model_copy(update={
        "anthropic_api_key": "test-key",
        "llm": sample_settings.llm.model_copy(update={"base_url": fake.base_url, "max_retries": 0,
                                                      "timeout_s": 5, "model": "claude-test",
                                                      "http_transport": request.param}),
    })
    bot = build_test_bot(settings, embeddings, answerer=ClaudeAnswerer(settings))
    yield bot
    await bot.close()


async def test_streams_a_generated_answer_with_citations(bot, fake):
    fake.queue(Reply("Opened items can't be returned after 30 days [1], unless defective [2].", chunk_size=8))
    deltas = []
    answer = await bot.answer(inquiry("Can I return an opened item after 30 days?"), on_delta=deltas.append)
    assert answer.mode == "generated" and answer.grounded
    assert len(deltas) > 3 and "".join(deltas).startswith("Opened items")
    assert answer.text.startswith("Opened items can't be returned")
    assert {s.number for s in answer.sources} <= {1, 2} and answer.sources
    request = fake.requests[-1]
    assert request["model"] == "claude-test" and request["stream"] is True
    assert "Can I return an opened item after 30 days?" in request_text(request)


async def test_system_prompt_is_sent_with_cache_control(bot, fake):
    fake.queue(Reply("Yes [1]."))
    await bot.answer(inquiry("How long is the warranty?"))
    system = fake.requests[-1]["system"]
    assert system[0]["cache_control"] == {"type": "ephemeral"}
    assert "Harbor & Pine Outfitters" in system[0]["text"]


async def test_dangling_citation_numbers_are_removed(bot, fake):
    fake.queue(Reply("Refunds take 5-10 business days [1][9]. See also [12]."))
    answer = await bot.answer(inquiry("How long does a refund take?"))
    assert "[9]" not in answer.text and "[12]" not in answer.text and "[1]" in answer.text
    assert [s.number for s in answer.sources] == [1]


async def test_error_mid_stream_falls_back_to_the_extractive_answer(bot, fake):
    fake.queue(StreamError("Opened items are"))
    answer = await bot.answer(inquiry("Can I return an opened item after 30 days?"))
    assert answer.mode == "extractive" and answer.grounded and answer.sources
    assert "Here is what our policy says" in answer.text
    # A fallback is not cached: the next ask tries the model again.
    fake.queue(Reply("Within 30 days, yes [1]."))
    again = await bot.answer(inquiry("Can I return an opened item after 30 days?"))
    assert again.mode == "generated" and not again.cached


async def test_http_error_falls_back_too(bot, fake):
    fake.queue(HttpError(500, "api_error", "boom"))
    answer = await bot.answer(inquiry("Do you ship to Canada?"))
    assert answer.mode == "extractive" and answer.sources


async def test_model_saying_no_answer_becomes_a_decline(bot, fake):
    fake.queue(Reply("NO_ANSWER"))
    deltas = []
    answer = await bot.answer(inquiry("Do you price match Amazon on tents?"), on_delta=deltas.append)
    assert answer.mode == "declined" and not answer.grounded and answer.offer_human
    assert "NO_ANSWER" not in "".join(deltas)


async def test_staff_text_is_never_shown_to_the_model_for_a_public_asker(bot, fake):
    fake.default = Echo()
    question = "What is the exception code agents type for refund exceptions?"
    public = await bot.answer(inquiry(question))
    assert STAFF_CANARY not in public.text
    assert all(STAFF_CANARY not in str(r) for r in fake.requests)
    staff = await bot.answer(inquiry(question, Audience.STAFF))
    assert STAFF_CANARY in staff.text


async def test_follow_up_is_rewritten_by_the_model(bot, fake):
    fake.queue(Reply("You can return unopened items for a full refund [1]."))
    await bot.answer(inquiry("What is your return policy?", thread="t-rw"))

    def by_kind(body):
        text = str(body["messages"])
        if "Standalone question" in text:
            return "How much does return shipping cost to Canada?"
        return "A Canadian return label costs C$9.95 [1]."

    fake.queue(Responder(by_kind), Responder(by_kind))
    answer = await bot.answer(inquiry("and to Canada?", thread="t-rw"))
    assert answer.standalone_question == "How much does return shipping cost to Canada?"
    assert "C$9.95" in answer.text


async def test_failed_rewrite_falls_back_to_the_deterministic_one(bot, fake):
    fake.queue(Reply("Unopened items: full refund [1]."))
    await bot.answer(inquiry("What is your return policy?", thread="t-rw2"))
    fake.queue(HttpError(529, "overloaded_error"), Reply("Yes [1]."))
    answer = await bot.answer(inquiry("and for opened ones?", thread="t-rw2"))
    assert "What is your return policy?" in answer.standalone_question and answer.grounded


async def test_streamed_pieces_are_parsed_on_the_event_loop_as_str_output_parser_would():
    """The answer chain's parser takes each piece's text without LangChain's thread hop per piece,
    and yields exactly what StrOutputParser yields."""
    import threading

    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage
    from langchain_core.output_parsers import StrOutputParser

    from bot.answering.generation import InlineStrOutputParser

    def model():
        return GenericFakeChatModel(messages=iter([AIMessage(content="Opened items can be returned [1].")]))

    threads: list[str] = []

    class Watching(InlineStrOutputParser):
        def parse_result(self, result, *, partial=False):
            threads.append(threading.current_thread().name)
            return super().parse_result(result, partial=partial)

    inline = [piece async for piece in (model() | Watching()).astream("q")]
    standard = [piece async for piece in (model() | StrOutputParser()).astream("q")]
    assert inline == standard and len(inline) > 3
    assert set(threads) == {threading.current_thread().name}
