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
