"""The answer cache: repeat questions answered without retrieval or a model call.

The key is decided here and only here. Its scope holds everything that could change the answer
besides the question: the audience (a staff answer is never served to a customer), the
knowledge-base generation (a reindex never serves a stale answer), the prompt version and the
model settings. The question part is the normalised standalone question.

The optional semantic cache answers close paraphrases (bot/state/paraphrase.py: a Redis vector
index where the server has the query engine, an in-process comparison elsewhere). It looks only
inside the same scope, so it cannot cross an audience or a generation either.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

import numpy as np

from bot.settings import CacheSettings
from bot.state.connection import RedisState
from bot.state.paraphrase import AutoParaphrases
from bot.types import Answer, Audience

_NOT_WORD = re.compile(r"[^\w\s]")


def normalise_question(question: str) -> str:
    return " ".join(_NOT_WORD.sub(" ", question.casefold()).split())


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


@dataclass(frozen=True)
class CacheKey:
    scope: str  # audience, generation, prompt version, model (and team, with multi-tenancy)
    question: str  # the normalised standalone question

    @property
    def exact(self) -> str:
        return _digest(self.scope, self.question)


def cache_key(question: str, audience: Audience, generation: int, prompt_version: str,
              model_signature: str, tenant: str | None = None) -> CacheKey:
    parts = [str(audience), str(generation), prompt_version, model_signature]
    if tenant:  # multi-tenancy: one team's answers are never served to another
        parts.append(f"tenant={tenant}")
    return CacheKey(scope=_digest(*parts), question=normalise_question(question))


class AnswerCache:
    def __init__(self, state: RedisState, settings: CacheSettings) -> None:
        self.state = state
        self.settings = settings
        self.paraphrases = AutoParaphrases(state, settings)

    def _answer_key(self, exact: str) -> str:
        return self.state.key("answer", exact)

    async def get(self, key: CacheKey) -> Answer | None:
        return await self._answer(key.exact)

    async def _answer(self, exact: str) -> Answer | None:
        raw = await self.state.run(lambda r: r.get(self._answer_key(exact)))
        return Answer.from_dict(json.loads(raw)) if raw else None

    async def set(self, key: CacheKey, answer: Answer, vector: np.ndarray | None = None) -> None:
        payload = json.dumps(answer.to_dict(), ensure_ascii=False)
        await self.state.run(lambda r: r.set(self._answer_key(key.exact), payload, ex=self.settings.ttl_s))
        if self.settings.semantic and vector is not None:
            await self.paraphrases.remember(key.scope, key.exact, vector)

    async def get_paraphrase(self, key: CacheKey, vector: np.ndarray) -> Answer | None:
        """A cached answer to a question whose meaning is very close to this one, if any."""
        if not self.settings.semantic:
            return None
        best = await self.paraphrases.nearest(key.scope, vector)
        if best is None or best[1] < self.settings.semantic_min_similarity:
            return None
        return await self._answer(best[0])
