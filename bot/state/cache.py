"""The answer cache: repeat questions answered without retrieval or a model call.

The key is decided here and only here. It includes everything that could change the answer: the
normalised standalone question, the audience (a staff answer is never served to a customer), the
knowledge-base generation (a reindex never serves a stale answer), the prompt version and the
model settings.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections import OrderedDict
from typing import Protocol

from bot.types import Answer, Audience

_NOT_WORD = re.compile(r"[^\w\s]")


def normalise_question(question: str) -> str:
    return " ".join(_NOT_WORD.sub(" ", question.casefold()).split())


def cache_key(question: str, audience: Audience, generation: int, prompt_version: str,
              model_signature: str, tenant: str | None = None) -> str:
    parts = [normalise_question(question), str(audience), str(generation), prompt_version, model_signature]
    if tenant:  # multi-tenancy: one team's answers are never served to another
        parts.append(f"tenant={tenant}")
    return "answer:" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


class AnswerCache(Protocol):
    async def get(self, key: str) -> Answer | None: ...
    async def set(self, key: str, answer: Answer) -> None: ...


class InMemoryAnswerCache:
    """An LRU with a TTL, for one process."""

    def __init__(self, ttl_s: float = 86400, max_entries: int = 2000) -> None:
        self.ttl_s, self.max_entries = ttl_s, max_entries
        self._entries: OrderedDict[str, tuple[float, dict]] = OrderedDict()

    async def get(self, key: str) -> Answer | None:
        entry = self._entries.get(key)
        if entry is None or time.monotonic() - entry[0] > self.ttl_s:
            self._entries.pop(key, None)
            return None
        self._entries.move_to_end(key)
        return Answer.from_dict(entry[1])

    async def set(self, key: str, answer: Answer) -> None:
        # Stored as plain data, as Redis will: a cached answer never shares state with the caller.
        self._entries[key] = (time.monotonic(), answer.to_dict())
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
