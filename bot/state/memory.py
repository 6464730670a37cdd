"""Thread memory: the last turns of each conversation, trimmed by count and characters.

A Redis list per thread (platform, channel, thread) and audience holding JSON turns; each append
trims it to the newest turns and renews the TTL in one transaction, so a quiet thread expires by
itself. The audience is part of the key: what was said in a staff answer is never part of the
context of a customer's question, even in the same conversation.
"""

from __future__ import annotations

import json
from dataclasses import replace

from bot.settings import MemorySettings
from bot.state.connection import RedisState
from bot.types import Audience, ConversationKey, Turn


def trim(turns: list[Turn], max_turns: int, max_chars: int) -> list[Turn]:
    """The newest turns that fit both limits (the newest one always fits, shortened if needed)."""
    kept: list[Turn] = []
    used = 0
    for turn in reversed(turns[-max_turns:] if max_turns else []):
        if kept and used + len(turn.text) > max_chars:
            break
        kept.append(turn if used + len(turn.text) <= max_chars else replace(turn, text=turn.text[:max_chars]))
        used += len(turn.text)
    return list(reversed(kept))


class ConversationMemory:
    def __init__(self, state: RedisState, settings: MemorySettings) -> None:
        self.state = state
        self.settings = settings

    def _key(self, conversation: ConversationKey, audience: Audience = Audience.PUBLIC) -> str:
        return self.state.key("memory", str(audience), conversation.platform, conversation.channel,
                              conversation.thread)

    async def load(self, conversation: ConversationKey, audience: Audience = Audience.PUBLIC) -> list[Turn]:
        limit = self.settings.max_turns
        if not limit:
            return []
        raw = await self.state.run(lambda r: r.lrange(self._key(conversation, audience), -limit, -1))
        turns = [Turn.from_record(json.loads(item)) for item in raw]
        return trim(turns, limit, self.settings.max_chars)

    async def append(self, conversation: ConversationKey, *turns: Turn,
                     audience: Audience = Audience.PUBLIC) -> None:
        if not self.settings.max_turns or not turns:
            return

        async def write(r):
            async with r.pipeline(transaction=True) as pipe:
                self.stage_append(pipe, conversation, *turns, audience=audience)
                await pipe.execute()

        await self.state.run(write)

    def stage_append(self, pipe, conversation: ConversationKey, *turns: Turn,
                     audience: Audience = Audience.PUBLIC) -> None:
        """Queue the append (push, trim, renew the TTL) on a transaction pipeline: the bot sends it
        with the answer's record in one round trip (StateStores.remember_answer)."""
        if not self.settings.max_turns or not turns:
            return
        key = self._key(conversation, audience)
        # Stored turns are capped at the character limit too, so one huge message cannot bloat Redis.
        items = [json.dumps(_record(t, self.settings.max_chars)) for t in turns]
        pipe.rpush(key, *items).ltrim(key, -self.settings.max_turns, -1)
        pipe.expire(key, self.settings.ttl_s)

    async def clear(self, conversation: ConversationKey) -> None:
        """Forget the thread for every audience."""
        await self.state.run(lambda r: r.delete(*(self._key(conversation, a) for a in Audience)))


def _record(turn: Turn, max_chars: int) -> dict:
    record = {"role": turn.role, "text": turn.text[:max_chars]}
    if turn.sources:
        record["sources"] = list(turn.sources)
    if turn.consulted:
        record["consulted"] = list(turn.consulted)
    return record

