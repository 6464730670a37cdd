"""The answer cache: repeat questions answered without retrieval or a model call.

The key is decided here and only here. Its scope holds everything that could change the answer
besides the question: the audience (a staff answer is never served to a customer), the
knowledge-base generation (a reindex never serves a stale answer), the prompt version and the
model settings. The question part is the normalised standalone question.

The optional semantic cache answers close paraphrases: each scope keeps a capped Redis list of
(question vector, exact key) pairs, compared in process (Redis 7.0 has no vector search). It looks
only inside the same scope, so it cannot cross an audience or a generation either.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

import numpy as np

from bot.settings import CacheSettings
from bot.state.connection import RedisState
from bot.types import Answer, Audience

_NOT_WORD = re.compile(r"[^\w\s]")
_VECTOR_DTYPE = np.float16  # half the bytes; paraphrase thresholds are far coarser than fp16


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

    def _answer_key(self, key: CacheKey) -> str:
        return self.state.key("answer", key.exact)

    def _paraphrase_key(self, key: CacheKey) -> str:
        return self.state.key("paraphrases", key.scope)

    async def get(self, key: CacheKey) -> Answer | None:
        raw = await self.state.run(lambda r: r.get(self._answer_key(key)))
        return Answer.from_dict(json.loads(raw)) if raw else None

    async def set(self, key: CacheKey, answer: Answer, vector: np.ndarray | None = None) -> None:
        payload = json.dumps(answer.to_dict(), ensure_ascii=False)
        remember_vector = self.settings.semantic and vector is not None
        entry = np.asarray(vector, _VECTOR_DTYPE).tobytes() + key.exact.encode() if remember_vector else b""

        async def write(r):
            async with r.pipeline(transaction=True) as pipe:
                pipe.set(self._answer_key(key), payload, ex=self.settings.ttl_s)
                if remember_vector:
                    listing = self._paraphrase_key(key)
                    pipe.lpush(listing, entry).ltrim(listing, 0, self.settings.semantic_max_entries - 1)
                    pipe.expire(listing, self.settings.ttl_s)
                await pipe.execute()

        await self.state.run(write)

    async def get_paraphrase(self, key: CacheKey, vector: np.ndarray) -> Answer | None:
        """A cached answer to a question whose meaning is very close to this one, if any."""
        if not self.settings.semantic:
            return None
        entries = await self.state.run(lambda r: r.lrange(self._paraphrase_key(key), 0, -1))
        if not entries:
            return None
        width = np.asarray(vector).size * np.dtype(_VECTOR_DTYPE).itemsize
        matrix = np.stack([np.frombuffer(e[:width], _VECTOR_DTYPE) for e in entries]).astype(np.float32)
        similarity = matrix @ np.asarray(vector, np.float32)
        best = int(np.argmax(similarity))
        if similarity[best] < self.settings.semantic_min_similarity:
            return None
        exact = entries[best][width:].decode()
        raw = await self.state.run(lambda r: r.get(self.state.key("answer", exact)))
        return Answer.from_dict(json.loads(raw)) if raw else None
