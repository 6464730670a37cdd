"""The one answer chain seen from LangChain: a callback handler sees retrieval and generation as
one trace, and the chat model is any LangChain chat model named in the settings."""

from __future__ import annotations

from uuid import UUID

import pytest
from langchain_anthropic import ChatAnthropic
from langchain_core.callbacks import AsyncCallbackHandler

from bot.answering.chain import RUN_NAME
from bot.answering.chat_models import build_chat_model
from bot.answering.generation import ChatAnswerer
from bot.settings import SettingsError
from tests.fakes.anthropic_server import FakeAnthropic, Reply
from tests.helpers import build_test_bot, inquiry


class RecordingHandler(AsyncCallbackHandler):
    """Every run the chain starts: its kind, name and parent."""

    def __init__(self) -> None:
        self.runs: dict[UUID, tuple[str, str, UUID | None]] = {}
        self.chat_messages: list = []

    async def on_chain_start(self, serialized, inputs, *, run_id, parent_run_id=None, **kwargs):
        self.runs[run_id] = ("chain", kwargs.get("name") or "", parent_run_id)

    async def on_retriever_start(self, serialized, query, *, run_id, parent_run_id=None, **kwargs):
        self.runs[run_id] = ("retriever", kwargs.get("name") or "", parent_run_id)

    async def on_chat_model_start(self, serialized, messages, *, run_id, parent_run_id=None, **kwargs):
        self.runs[run_id] = ("chat_model", kwargs.get("name") or "", parent_run_id)
        self.chat_messages.append(messages[0])

    def root_of(self, run_id: UUID) -> UUID:
        while (parent := self.runs[run_id][2]) is not None:
            run_id = parent
        return run_id

    def of_kind(self, kind: str) -> list[UUID]:
        return [run_id for run_id, (k, _, _) in self.runs.items() if k == kind]


@pytest.fixture
def fake():
    with FakeAnthropic() as server:
        yield server


def _with_model(settings, **llm):
    return settings.model_copy(update={"anthropic_api_key": "test-key",
                                       "llm": settings.llm.model_copy(update={"max_retries": 0, "timeout_s": 5, **llm})})


async def test_retrieval_and_generation_are_one_trace(sample_settings, embeddings, fake):
    settings = _with_model(sample_settings, base_url=fake.base_url, model="anthropic:claude-test")
    bot = build_test_bot(settings, embeddings, answerer=ChatAnswerer(settings))
    handler = RecordingHandler()
    bot.callbacks.append(handler)
    fake.queue(Reply("Opened items can be returned within 30 days [1]."))
    answer = await bot.answer(inquiry("Can I return an opened item after 30 days?"))
    assert answer.mode == "generated"
    [retriever_run] = handler.of_kind("retriever")
    [model_run] = handler.of_kind("chat_model")
    root = handler.root_of(retriever_run)
    assert handler.root_of(model_run) == root and handler.runs[root][1] == RUN_NAME
    assert handler.runs[retriever_run][1] == "PolicyRetriever"
    assert len([r for r in handler.runs if handler.runs[r][2] is None]) == 1  # nothing outside the trace


async def test_an_answer_is_six_runs_none_of_them_a_pass_through(sample_settings, embeddings, fake):
    """Each run costs the event loop callback work under a burst: the trace holds the answer, the
    retriever and the generation (its prompt, chat model and parser), and no step that only hands
    the question on (there were 11 runs per answer)."""
    settings = _with_model(sample_settings, base_url=fake.base_url, model="anthropic:claude-test")
    bot = build_test_bot(settings, embeddings, answerer=ChatAnswerer(settings))
    handler = RecordingHandler()
    bot.callbacks.append(handler)
    fake.queue(Reply("Opened items can be returned within 30 days [1]."))
    assert (await bot.answer(inquiry("Can I return an opened item after 30 days?"))).mode == "generated"
    names = {run_id: name or kind for run_id, (kind, name, _) in handler.runs.items()}
    parents = {names[run_id]: names.get(parent) for run_id, (_, _, parent) in handler.runs.items()}
    assert parents == {RUN_NAME: None, "PolicyRetriever": RUN_NAME, "generate": RUN_NAME,
                       "answer_prompt": "generate", "chat_model": "generate",
                       "InlineStrOutputParser": "generate"}


async def test_offline_answers_run_the_same_chain(sample_settings, embeddings):
    bot = build_test_bot(sample_settings, embeddings)  # no API key: extractive
    handler = RecordingHandler()
    bot.callbacks.append(handler)
    answer = await bot.answer(inquiry("Can I return an opened item after 30 days?"))
    assert answer.mode == "extractive" and answer.sources
    [retriever_run] = handler.of_kind("retriever")
    assert handler.runs[handler.root_of(retriever_run)][1] == RUN_NAME and not handler.of_kind("chat_model")


async def test_a_second_providers_chat_model_by_setting(sample_settings, embeddings):
    """Any LangChain chat model class by import path, its options passed through; no Anthropic
    prompt caching for it (a plain system message)."""
    reply = "Opened items can be returned within 30 days if unused [1]."
    settings = sample_settings.model_copy(update={"llm": sample_settings.llm.model_copy(update={
        "model": "langchain_core.language_models.fake_chat_models:FakeListChatModel",
        "options": {"responses": [reply]}})})
    assert settings.llm_enabled  # no Anthropic key needed for another provider
    from bot.wiring import build_bot

    bot = build_bot(settings, embeddings=embeddings)
    handler = RecordingHandler()
    bot.callbacks.append(handler)
    answer = await bot.answer(inquiry("Can I return an opened item after 30 days?"))
    assert answer.mode == "generated" and answer.text.startswith("Opened items can be returned") and answer.sources
    system = handler.chat_messages[-1][0]
    assert isinstance(system.content, str) and "<passage>" in system.content


def test_init_chat_model_names_the_provider_and_caches_only_for_anthropic(sample_settings):
    anthropic = build_chat_model(_with_model(sample_settings, model="anthropic:claude-test"))
    assert anthropic.is_anthropic and isinstance(anthropic.model, ChatAnthropic)
    assert anthropic.model.model == "claude-test" and anthropic.model.max_tokens == sample_settings.llm.max_tokens
    bare = build_chat_model(_with_model(sample_settings, model="claude-test"))
    assert bare.is_anthropic


@pytest.mark.parametrize("model, says", [
    ("openai:gpt-4.1", "langchain-openai"),  # a provider whose package is not installed
    ("no-such-model", "provider:model"),
    ("bot.nowhere:Model", "not installed"),
])
def test_a_model_that_cannot_be_built_is_a_clear_settings_error(sample_settings, model, says):
    with pytest.raises(SettingsError) as error:
        build_chat_model(_with_model(sample_settings, model=model))
    assert model in str(error.value) and says in str(error.value)
