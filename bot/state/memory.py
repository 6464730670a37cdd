"""Thread memory: the last turns of each conversation, trimmed by count and characters."""

from __future__ import annotations

import time
from typing import Protocol

from bot.types import ConversationKey, Turn


class ConversationMemory(Protocol):
    async def load(self, conversation: ConversationKey) -> list[Turn]: ...
    async def append(self, conversation: ConversationKey, *turns: Turn) -> None: ...
    async def clear(self, conversation: ConversationKey) -> None: ...


def trim(turns: list[Turn], max_turns: int, max_chars: int) -> list[Turn]:
    """The newest turns that fit both limits (the newest one always fits, shortened if needed)."""
    kept: list[Turn] = []
    used = 0
    for turn in reversed(turns[-max_turns:] if max_turns else []):
        if kept and used + len(turn.text) > max_chars:
            break
        kept.append(turn if used + len(turn.text) <= max_chars else Turn(turn.role, turn.text[:max_chars]))
        used += len(turn.text)
    return list(reversed(kept))


class InMemoryConversationMemory:
    def __init__(self, max_turns: int = 8, max_chars: int = 4000, ttl_s: float = 7 * 86400) -> None:
        self.max_turns, self.max_chars, self.ttl_s = max_turns, max_chars, ttl_s
        self._threads: dict[ConversationKey, tuple[float, list[Turn]]] = {}

    async def load(self, conversation: ConversationKey) -> list[Turn]:
        stamp, turns = self._threads.get(conversation, (0.0, []))
        if time.monotonic() - stamp > self.ttl_s:
            self._threads.pop(conversation, None)
            return []
        return list(turns)

    async def append(self, conversation: ConversationKey, *turns: Turn) -> None:
        current = await self.load(conversation)
        self._threads[conversation] = (time.monotonic(),
                                       trim(current + list(turns), self.max_turns, self.max_chars))

    async def clear(self, conversation: ConversationKey) -> None:
        self._threads.pop(conversation, None)
