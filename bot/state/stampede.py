"""Stampede protection: many identical questions at once cost one retrieval and one model call.

Inside one process the first caller for a cache key computes and the others await its result.
Across workers a short Redis lock names the one computing; the others poll the cache until its
answer lands (or the wait runs out, when they compute it themselves rather than stay silent).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import structlog

from bot.state.cache import AnswerCache, CacheKey
from bot.state.connection import StateUnavailable
from bot.state.guards import Lock
from bot.types import Answer

log = structlog.get_logger(__name__)
POLL_S = 0.05
Compute = Callable[[], Awaitable[Answer]]


class Stampede:
    def __init__(self, cache: AnswerCache, wait_s: float) -> None:
        self.cache = cache
        self.wait_s = wait_s
        self._inflight: dict[str, asyncio.Future] = {}

    async def once(self, key: CacheKey, compute: Compute) -> tuple[Answer, bool]:
        """(answer, True) for the caller that computed it, (answer, False) for those that waited."""
        if (running := self._inflight.get(key.exact)) is not None:
            return await asyncio.shield(running), False
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._inflight[key.exact] = future
        try:
            result, led = await self._across_workers(key, compute)
            future.set_result(result)
            return result, led
        except BaseException as exc:
            # Waiters get an ordinary error even if the leader was cancelled, so their adapters'
            # error handling (an apology) still runs; a CancelledError would skip it.
            failure = exc if isinstance(exc, Exception) else RuntimeError("the first identical question was cancelled")
            future.set_exception(failure)
            future.exception()  # mark retrieved: waiters re-raise it, nobody logs it as lost
            raise
        finally:
            del self._inflight[key.exact]

    async def _across_workers(self, key: CacheKey, compute: Compute) -> tuple[Answer, bool]:
        if not self.cache.state.shared or self.wait_s <= 0:
            return await compute(), True
        lock = Lock(self.cache.state, f"answer:{key.exact}", ttl_s=self.wait_s)
        try:
            leader = await lock.acquire()
        except StateUnavailable:
            return await compute(), True
        if leader:
            try:
                return await compute(), True
            finally:
                await _quietly(lock.release())
        if (answer := await self._await_other_worker(key)) is not None:
            return answer, False
        log.warning("waited for another worker's answer in vain; answering here", wait_s=self.wait_s)
        return await compute(), True

    async def _await_other_worker(self, key: CacheKey) -> Answer | None:
        deadline = time.monotonic() + self.wait_s
        while time.monotonic() < deadline:
            await asyncio.sleep(POLL_S)
            try:
                if (answer := await self.cache.get(key)) is not None:
                    return answer
                if await Lock(self.cache.state, f"answer:{key.exact}", 1).holder() is None:
                    return await self.cache.get(key)  # it finished without caching (e.g. fallback)
            except StateUnavailable:
                return None
        return None


async def _quietly(call: Awaitable) -> None:
    try:
        await call
    except StateUnavailable:
        pass
