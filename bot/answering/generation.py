"""Claude through LangChain: the answer chain (streamed) and the follow-up rewrite.

The system prompt is the long, stable part of every request, so it is sent as a content block
with cache_control: repeat calls read it from Anthropic's prompt cache (cheaper and faster) once
it is above the model's minimum cacheable length.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.runnables import RunnableLambda

from bot.prompts import PromptSet
from bot.settings import Settings

NO_ANSWER = "NO_ANSWER"  # the model's way to say the passages do not answer (see system.md)


class ClaudeAnswerer:
    def __init__(self, settings: Settings) -> None:
        # Imported here: the anthropic SDK takes ~2 s to import, and offline runs never need it.
        from langchain_anthropic import ChatAnthropic

        llm = settings.llm
        self.company_name = settings.company_name
        self.model_signature = f"{llm.model}|t={llm.temperature}|max={llm.max_tokens}"
        self._chat = ChatAnthropic(
            model=llm.model,
            api_key=settings.anthropic_api_key,
            base_url=llm.base_url,
            max_tokens=llm.max_tokens,
            temperature=llm.temperature,
            timeout=llm.timeout_s,
            max_retries=llm.max_retries,
        )
        self._answer_chain = RunnableLambda(self._answer_messages) | self._chat | StrOutputParser()
        self._rewrite_chain = (
            RunnableLambda(self._rewrite_messages)
            | self._chat.bind(max_tokens=200, temperature=0.0)
            | StrOutputParser()
        )

    def _system(self, prompts: PromptSet) -> SystemMessage:
        text = prompts.render("system.md", company_name=self.company_name)
        return SystemMessage(content=[{"type": "text", "text": text, "cache_control": {"type": "ephemeral"}}])

    def _answer_messages(self, inputs: dict) -> list:
        prompts: PromptSet = inputs["prompts"]
        user = prompts.render("answer.md", question=inputs["question"], context=inputs["context"],
                              history=inputs["history"], company_name=self.company_name)
        return [self._system(prompts), HumanMessage(content=user)]

    def _rewrite_messages(self, inputs: dict) -> list:
        prompts: PromptSet = inputs["prompts"]
        user = prompts.render("rewrite.md", question=inputs["question"], history=inputs["history"],
                              company_name=self.company_name)
        return [HumanMessage(content=user)]

    async def stream_answer(self, prompts: PromptSet, question: str, context: str,
                            history: str) -> AsyncIterator[str]:
        inputs = {"prompts": prompts, "question": question, "context": context, "history": history}
        async for piece in self._answer_chain.astream(inputs):
            if piece:
                yield piece

    async def rewrite(self, prompts: PromptSet, question: str, history: str) -> str:
        text = await self._rewrite_chain.ainvoke(
            {"prompts": prompts, "question": question, "history": history})
        return text.strip().strip('"').strip()
