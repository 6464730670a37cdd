"""The chat model's two jobs: the answer (streamed) and the follow-up rewrite.

Which model is a setting (chat_models.py). With an Anthropic model the system prompt, the long
and stable part of every request, is sent as a content block with cache_control: repeat calls
read it from Anthropic's prompt cache (cheaper and faster) once it is above the model's minimum
cacheable length. Other providers get it as a plain system message.

Everything the asker or a document wrote reaches the model as tagged data (prompt_text.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.outputs import ChatGeneration, Generation
from langchain_core.runnables import Runnable, RunnableConfig, RunnableLambda

from bot.answering.chat_models import build_chat_model
from bot.answering.prompt_text import NO_ANSWER, question_block  # noqa: F401  (NO_ANSWER re-exported)
from bot.prompts import PromptSet
from bot.settings import Settings


class InlineStrOutputParser(StrOutputParser):
    """StrOutputParser, its streamed pieces parsed on the event loop. LangChain's own async
    transform runs `parse_result` in an executor thread for every piece (a parser may block); this
    one only takes a message's text, so the hop per piece was pure overhead. The run, its name
    and what it yields are StrOutputParser's."""

    async def _atransform(self, input: AsyncIterator[str | BaseMessage]) -> AsyncIterator[str]:
        async for chunk in input:
            if isinstance(chunk, BaseMessage):
                yield self.parse_result([ChatGeneration(message=chunk)])
            else:
                yield self.parse_result([Generation(text=chunk)])


class ChatAnswerer:
    def __init__(self, settings: Settings) -> None:
        llm = settings.llm
        self.company_name = settings.company_name
        self.model_signature = f"{llm.model}|t={llm.temperature}|max={llm.max_tokens}"
        choice = self._choice = build_chat_model(settings)
        self._cache_system_prompt = choice.is_anthropic
        self.chat = choice.model
        # Both steps around the model run on the event loop (rendering a prompt and taking a piece's
        # text take microseconds): LangChain would otherwise hop to a thread for the prompt and for
        # every streamed piece, each hop a lock and a wake-up that a burst multiplies.
        self.answer_chain: Runnable = (
            RunnableLambda(self._answer_messages, afunc=self._aanswer_messages, name="answer_prompt")
            | self.chat | InlineStrOutputParser()).with_config(run_name="generate")
        self._rewrite_chain = (
            RunnableLambda(self._rewrite_messages, afunc=self._arewrite_messages, name="rewrite_prompt")
            | self.chat.bind(max_tokens=200, temperature=0.0)
            | InlineStrOutputParser()
        ).with_config(run_name="rewrite")

    def _system(self, prompts: PromptSet) -> SystemMessage:
        text = prompts.render("system.md", company_name=self.company_name)
        if not self._cache_system_prompt:
            return SystemMessage(content=text)
        return SystemMessage(content=[{"type": "text", "text": text, "cache_control": {"type": "ephemeral"}}])

    def _answer_messages(self, inputs: dict) -> list:
        """inputs: prompts, and the tagged blocks question, context, history (prompt_text.py)."""
        prompts: PromptSet = inputs["prompts"]
        user = prompts.render("answer.md", question=inputs["question"], context=inputs["context"],
                              history=inputs["history"], company_name=self.company_name)
        return [self._system(prompts), HumanMessage(content=user)]

    async def _aanswer_messages(self, inputs: dict) -> list:
        return self._answer_messages(inputs)  # string formatting: no reason to leave the loop

    def _rewrite_messages(self, inputs: dict) -> list:
        prompts: PromptSet = inputs["prompts"]
        user = prompts.render("rewrite.md", question=question_block(inputs["question"]),
                              history=inputs["history"], company_name=self.company_name)
        return [HumanMessage(content=user)]

    async def _arewrite_messages(self, inputs: dict) -> list:
        return self._rewrite_messages(inputs)

    async def stream_answer(self, inputs: dict, config: RunnableConfig | None = None) -> AsyncIterator[str]:
        async for piece in self.answer_chain.astream(inputs, config):
            if piece:
                yield piece

    async def aclose(self) -> None:
        await self._choice.aclose()

    async def rewrite(self, prompts: PromptSet, question: str, history: str,
                      config: RunnableConfig | None = None) -> str:
        text = await self._rewrite_chain.ainvoke(
            {"prompts": prompts, "question": question, "history": history}, config)
        return text.strip().strip('"').strip()


ClaudeAnswerer = ChatAnswerer  # the name of the Anthropic-only answerer it replaced
