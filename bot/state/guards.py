"""Guards the adapters rely on: per-user rate limits and cross-worker locks (event dedupe is in
dedupe.py, and fails closed).

The rate limit fails open: with Redis down a user is not limited, which is better than a bot that
stops answering.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from redis.exceptions import LockError, LockNotOwnedError

from bot.settings import RateLimitSettings
from bot.state.connection import RedisState

# A token bucket per user: refill by elapsed time, take one token if there is one. In Lua so that
# two workers answering the same user at once cannot both take the last token.
_TOKEN_BUCKET = """
local capacity = tonumber(ARGV[1])
local per_second = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * per_second)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / per_second) + 60)
return {allowed, tostring((1 - tokens) / per_second)}
"""

@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    retry_after_s: float = 0.0


class RateLimiter:
    def __init__(self, state: RedisState, settings: RateLimitSettings) -> None:
        self.state = state
        self.settings = settings
        self._script = state.client.register_script(_TOKEN_BUCKET)

    async def take(self, platform: str, user_id: str) -> RateDecision:
        if not self.settings.enabled:
            return RateDecision(True)
        key = self.state.key("rate", platform, user_id)
        per_second = self.settings.per_minute / 60
        allowed, wait = await self.state.run(lambda r: self._script(
            keys=[key], args=[self.settings.burst, per_second, time.time()], client=r))
        return RateDecision(bool(allowed), 0.0 if allowed else max(0.0, float(wait)))


class Lock:
    """A lock shared by every worker: redis-py's Lock (SET NX with an expiry; release and extend
    check the token, so a worker whose lock expired can never free or renew another's), run
    through the circuit breaker. The token also says who took it and when, for "busy" messages.
    """

    def __init__(self, state: RedisState, name: str, ttl_s: float) -> None:
        self.state = state
        self.key = state.key("lock", name)
        self.ttl_s = ttl_s
        # Not thread-local: the event loop takes it and a heartbeat task on the same loop renews it.
        self._lock = state.client.lock(self.key, timeout=ttl_s, blocking=False, thread_local=False)

    async def acquire(self, owner: str = "") -> bool:
        token = f"{uuid.uuid4().hex}|{owner}|{int(time.time())}"
        return bool(await self.state.run(lambda _: self._lock.acquire(token=token)))

    async def holder(self) -> tuple[str, float] | None:
        """Who holds it (owner, epoch seconds), or None."""
        raw = await self.state.run(lambda r: r.get(self.key))
        if not raw:
            return None
        _, owner, since = raw.decode().split("|", 2)
        return owner, float(since)

    async def extend(self) -> bool:
        """Renew the full expiry; False if the lock is no longer ours (it expired meanwhile)."""
        try:
            return await self.state.run(lambda _: self._lock.extend(self.ttl_s, replace_ttl=True))
        except LockNotOwnedError:
            return False

    async def release(self) -> bool:
        """Free it if it is still ours; False if it had expired (and maybe been taken since)."""
        try:
            await self.state.run(lambda _: self._lock.release())
        except LockError:  # no longer ours (LockNotOwnedError), or never acquired
            return False
        return True
