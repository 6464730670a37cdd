"""Event dedupe that never replies twice: platforms retry deliveries, the first claim wins.

A claim is taken in this worker's memory first (synchronously, so hundreds of copies arriving at
once cannot all pass) and then in Redis, so that exactly one worker answers. Redis is given a
budget (`redis.claim_budget_s`); when it cannot answer within it (down, or stalled), the
in-process claim decides alone instead of letting every copy through:

- a first delivery is answered (only this worker could have seen it; a second worker receiving
  the same delivery during the same outage is the one case not covered);
- a delivery the platform marks as a retry is not answered, since whether another worker already
  answered it is unknown.

The in-process claims are bounded (oldest dropped first) and expire after `redis.event_ttl_s`.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict

import structlog

from bot.state.connection import RedisState, StateUnavailable

log = structlog.get_logger(__name__)
LOCAL_CLAIMS_MAX = 100_000


class LocalClaims:
    """Event ids this worker has claimed, each for ttl_s seconds, at most max_entries of them."""

    def __init__(self, ttl_s: float, max_entries: int = LOCAL_CLAIMS_MAX, *, clock=time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._clock = clock
        self._expiry: OrderedDict[str, float] = OrderedDict()

    def claim(self, key: str) -> bool:
        """True for the first claim of `key` (until it expires), False for every later one."""
        now = self._clock()
        self._forget_expired(now)
        if key in self._expiry:
            return False
        self._expiry[key] = now + self.ttl_s
        while len(self._expiry) > self.max_entries:
            self._expiry.popitem(last=False)
        return True

    def __len__(self) -> int:
        return len(self._expiry)

    def _forget_expired(self, now: float) -> None:
        # Every entry lives equally long, so insertion order is expiry order.
        while self._expiry and next(iter(self._expiry.values())) <= now:
            self._expiry.popitem(last=False)


class EventDeduper:
    def __init__(self, state: RedisState, ttl_s: int, budget_s: float) -> None:
        self.state = state
        self.ttl_s = ttl_s
        self.budget_s = budget_s
        self.local = LocalClaims(ttl_s)

    async def claim(self, platform: str, event_id: str, *, retry: bool = False) -> bool:
        """True if this delivery is the one to answer. `retry`: the platform says it is a redelivery."""
        key = self.state.key("event", platform, event_id)
        if not self.local.claim(key):
            return False
        try:
            won = await asyncio.wait_for(self.state.run(lambda r: r.set(key, 1, nx=True, ex=self.ttl_s)),
                                         timeout=self.budget_s)
        except (StateUnavailable, asyncio.TimeoutError) as exc:
            if retry:
                log.warning("a retried delivery whose claim is unknown (Redis did not answer); not "
                            "answering it", platform=platform, event_id=event_id, error=repr(exc))
                return False
            return True
        return bool(won)
