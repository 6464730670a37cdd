"""Every state component on one Redis connection, built once per process."""

from __future__ import annotations

from dataclasses import dataclass

from bot.settings import Settings
from bot.state.cache import AnswerCache
from bot.state.connection import RedisState, connect
from bot.state.dedupe import EventDeduper
from bot.state.guards import RateLimiter
from bot.state.memory import ConversationMemory
from bot.state.records import Records
from bot.state.stampede import Stampede
from bot.types import Answer, Audience, ConversationKey, Turn


@dataclass
class StateStores:
    redis: RedisState
    memory: ConversationMemory
    cache: AnswerCache
    records: Records
    events: EventDeduper
    limiter: RateLimiter
    stampede: Stampede

    @classmethod
    def build(cls, settings: Settings, redis: RedisState | None = None, *, warn: bool = True) -> StateStores:
        redis = redis or connect(settings, warn=warn)
        cache = AnswerCache(redis, settings.cache)
        return cls(
            redis=redis,
            memory=ConversationMemory(redis, settings.memory),
            cache=cache,
            records=Records(redis, settings.redis),
            events=EventDeduper(redis, settings.redis.event_ttl_s, settings.redis.claim_budget_s,
                                settings.redis.event_lease_s),
            limiter=RateLimiter(redis, settings.rate_limit),
            stampede=Stampede(cache, settings.cache.wait_for_leader_s),
        )

    async def remember_answer(self, conversation: ConversationKey, turns: tuple[Turn, ...], answer: Answer, *,
                              audience: Audience, tenant: str | None) -> None:
        """Everything written after an answer (the thread's new turns, the answer's record and its
        log line) in one transaction: one round trip instead of two, and under a slow Redis one
        timeout at most (the caller carries on without state, as before)."""

        async def write(r):
            async with r.pipeline(transaction=True) as pipe:
                self.memory.stage_append(pipe, conversation, *turns, audience=audience)
                self.records.stage_answer(pipe, conversation, answer, tenant=tenant)
                await pipe.execute()

        await self.redis.run(write)
