"""The Redis connection every state component shares, behind a circuit breaker.

Redis is an optimisation for answering (cache, memory), so a dead or hung server must cost at most
one socket timeout, not a timeout per call: the first connection failure opens the breaker, calls
then fail at once with StateUnavailable, and a background ping closes it again when Redis answers.
Errors are logged once per outage, not once per call.

A timeout is not always Redis' fault: while this worker's event loop is busy (a burst of answers,
each with CPU work), a reply that arrived in time can sit in the socket until after the socket
timeout, and redis-py raises TimeoutError. Opening the breaker then would make every answer of the
next retry_after_s skip memory, cache and limits, with Redis perfectly fine. So a timeout while the
loop was lagging (loop_lag.py) by at least half the socket timeout costs that call only, like a
busy connection pool; refused or reset connections, and timeouts on a loop that kept time, open
the breaker as before. The price: a Redis that hangs while the loop stays that busy costs a
timeout per call rather than one, until the loop catches up and the next timeout opens it.

With no REDIS_URL the bot keeps its state in an in-process fakeredis: everything works for one
process, nothing survives a restart, and several workers would not share it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog
from redis import asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import MaxConnectionsError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.settings import RedisSettings, Settings
from bot.state.loop_lag import LoopLag

log = structlog.get_logger(__name__)
T = TypeVar("T")

# Failures that mean "Redis is not there", as opposed to a bug in a command.
_OUTAGES = (RedisConnectionError, RedisTimeoutError, OSError, asyncio.TimeoutError)
# Of those, the ones a busy event loop can cause by reading a reply late.
_TIMEOUTS = (RedisTimeoutError, asyncio.TimeoutError)
# At most one "event loop busy" warning per this many seconds: a burst times out many calls at once.
BUSY_LOG_EVERY_S = 5.0


class StateUnavailable(Exception):
    """Redis is down or hung; the caller carries on without state."""


class RedisState:
    """A Redis client, its key prefix and the breaker that guards it."""

    def __init__(self, client: aioredis.Redis, settings: RedisSettings, *, description: str,
                 shared: bool) -> None:
        self.client = client
        self.prefix = settings.key_prefix
        self.description = description
        self.shared = shared  # False for the in-process fallback: one worker only
        self._budget_s = settings.connect_timeout_s + settings.socket_timeout_s
        self._retry_after_s = settings.retry_after_s
        self._open = False  # set by a failure, cleared only by a successful background probe
        self._probe: asyncio.Task | None = None
        # A timeout is this worker's fault when the loop ran this late; half the socket timeout
        # leaves Redis the other half, far more than any healthy reply takes.
        self._busy_lag_s = settings.socket_timeout_s / 2
        self.loop_lag = LoopLag()
        self.late_replies = 0  # calls that went without state because the loop read a reply late
        self._busy_logged_at = float("-inf")

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    @property
    def available(self) -> bool:
        return not self._open

    async def run(self, operation: Callable[[aioredis.Redis], Awaitable[T]]) -> T:
        """Run one operation (a command or a pipeline) unless the breaker is open."""
        if not self.available:
            self._schedule_probe()
            raise StateUnavailable("Redis is unavailable")
        self.loop_lag.start()  # lazily, on the loop the calls run on; a no-op once running
        try:
            # The client has its own timeouts; this bounds a whole pipeline as well.
            result = await asyncio.wait_for(operation(self.client), timeout=self._budget_s * 2)
        except MaxConnectionsError as exc:  # this worker is busy, Redis is fine: skip this call only
            raise StateUnavailable(f"no free Redis connection: {exc}") from exc
        except _OUTAGES as exc:
            if isinstance(exc, _TIMEOUTS) and (lag_s := self.loop_lag.lag_s()) >= self._busy_lag_s:
                self._late_reply(exc, lag_s)
                raise StateUnavailable(f"event loop busy, Redis reply came late: {exc!r}") from exc
            self._trip(exc)
            raise StateUnavailable(f"Redis is unavailable: {exc!r}") from exc
        return result

    def _late_reply(self, exc: BaseException, lag_s: float) -> None:
        self.late_replies += 1
        now = time.monotonic()
        if now - self._busy_logged_at >= BUSY_LOG_EVERY_S:
            self._busy_logged_at = now
            log.warning("event loop busy: a Redis reply came late; this call went without state",
                        redis=self.description, loop_lag_ms=round(lag_s * 1000), error=repr(exc),
                        late_replies=self.late_replies)

    def _trip(self, exc: BaseException) -> None:
        if not self._open:  # first failure of this outage
            log.error("Redis is not answering; continuing without cache, memory and limits "
                      "until it is back", redis=self.description, error=repr(exc))
        self._open = True
        self._schedule_probe()

    def _schedule_probe(self) -> None:
        if self._probe is None or self._probe.done():
            self._probe = asyncio.get_running_loop().create_task(self._probe_later())

    async def _probe_later(self) -> None:
        """Ping in the background until Redis answers, so no answer waits on a dead server."""
        while self._open:
            await asyncio.sleep(self._retry_after_s)
            try:
                await asyncio.wait_for(self.client.ping(), timeout=self._budget_s * 2)
            except _OUTAGES:
                continue
            self._open = False
            log.warning("Redis is answering again; cache, memory and limits are back",
                        redis=self.description)

    async def close(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
        await self.loop_lag.stop()
        await self.client.aclose()


def connect(settings: Settings, *, warn: bool = True) -> RedisState:
    """The configured Redis, or an in-process fakeredis (with a warning) when none is set.

    One-shot commands pass warn=False: for them, state in the process is all they need.
    """
    if settings.redis_url is not None and settings.redis_url.get_secret_value():
        url = settings.redis_url.get_secret_value()
        client = aioredis.Redis.from_url(
            url,
            socket_connect_timeout=settings.redis.connect_timeout_s,
            socket_timeout=settings.redis.socket_timeout_s,
            # redis-py retries three times by default: that would triple every timeout.
            retry=Retry(NoBackoff(), 0),
            health_check_interval=30,
            max_connections=settings.redis.max_connections,
        )
        return RedisState(client, settings.redis, description=_redacted(url), shared=True)

    import fakeredis  # only for the embedded default

    (log.warning if warn else log.info)("REDIS_URL is not set: keeping cache, memory and escalations in this process "
                "only (lost on restart, not shared between workers). Set REDIS_URL for production.")
    client = fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer(),  # one server per bot
                                      max_connections=settings.redis.max_connections)
    return RedisState(client, settings.redis, description="in-process", shared=False)


def _redacted(url: str) -> str:
    """The URL without its password, for logs."""
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
