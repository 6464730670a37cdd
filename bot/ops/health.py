"""Liveness and readiness, as /healthz and /readyz report them.

Live: the process runs and its event loop is responsive (a heartbeat task has ticked recently; a
loop blocked by synchronous work stops it). Ready: the bot can answer from knowledge: an index
generation exists, Weaviate answers when it is configured, and the platform connection the adapter
registered is up (Slack's socket, Discord's gateway). Redis down is reported as degraded but
ready, because the bot answers without it (no cache, no memory).
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import aiohttp
import structlog

if TYPE_CHECKING:
    from bot.service import SupportBot

log = structlog.get_logger(__name__)
HEARTBEAT_S = 0.5
PlatformCheck = Callable[[], bool | Awaitable[bool]]


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    required: bool = True  # False: reported, but the bot is ready without it (Redis)


@dataclass(frozen=True)
class Report:
    status: str  # "ok" / "ready", "degraded" (ready without something optional), "failing" / "unready"
    healthy: bool
    checks: list[Check]

    def to_dict(self) -> dict:
        return {"status": self.status, "checks": {c.name: {k: v for k, v in asdict(c).items() if k != "name"}
                                                  for c in self.checks}}


class Health:
    def __init__(self, bot: SupportBot) -> None:
        self.bot = bot
        self.settings = bot.settings
        self._platform: dict[str, PlatformCheck] = {}
        self._last_beat = time.monotonic()
        self._heartbeat: asyncio.Task | None = None

    def add_check(self, name: str, check: PlatformCheck) -> None:
        """A platform connection the adapter keeps (sync or async callable, True when up)."""
        self._platform[name] = check

    # ----- liveness ------------------------------------------------------------------------

    def start(self) -> None:
        if self._heartbeat is None or self._heartbeat.done():
            self._last_beat = time.monotonic()
            self._heartbeat = asyncio.get_running_loop().create_task(self._beat(), name="ops-heartbeat")

    async def stop(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            await asyncio.gather(self._heartbeat, return_exceptions=True)
            self._heartbeat = None

    async def _beat(self) -> None:
        while True:
            self._last_beat = time.monotonic()
            await asyncio.sleep(HEARTBEAT_S)

    async def live(self) -> Report:
        self.start()  # a no-op once running
        silent_s = time.monotonic() - self._last_beat
        ok = silent_s <= self.settings.ops.max_loop_lag_s
        detail = f"event loop heartbeat {silent_s * 1000:.0f} ms ago"
        return Report("ok" if ok else "failing", ok, [Check("event_loop", ok, detail)])

    # ----- readiness -----------------------------------------------------------------------

    async def ready(self) -> Report:
        checks = [await self._index()]
        if self.settings.weaviate.url:
            checks.append(await self._weaviate(self.settings.weaviate.url))
        for name, check in self._platform.items():
            checks.append(await self._platform_check(name, check))
        checks.append(self._redis())
        ready = all(c.ok for c in checks if c.required)
        status = "unready" if not ready else "ready" if all(c.ok for c in checks) else "degraded"
        return Report(status, ready, checks)

    async def _index(self) -> Check:
        if self.settings.weaviate.multi_tenancy:
            return Check("index", True, "one knowledge base per team (indexed with --tenant)")
        try:
            generation = await self._bounded(asyncio.to_thread(self.bot.index.generation))
        except Exception as exc:  # IndexStoreError, a timeout: not ready either way
            return Check("index", False, f"cannot read the index: {exc or type(exc).__name__}")
        if generation <= 0:
            return Check("index", False, "no index yet: run `supportbot index`")
        return Check("index", True, f"generation {generation}")

    async def _weaviate(self, url: str) -> Check:
        timeout = aiohttp.ClientTimeout(total=self.settings.ops.readiness_timeout_s)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as session, \
                    session.get(f"{url}/v1/.well-known/ready") as response:
                ok = response.status == 200
                return Check("weaviate", ok, f"{url} answered {response.status}")
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return Check("weaviate", False, f"{url} unreachable: {type(exc).__name__}")

    async def _platform_check(self, name: str, check: PlatformCheck) -> Check:
        try:
            result = check()
            up = await self._bounded(result) if inspect.isawaitable(result) else result
        except Exception as exc:
            return Check(name, False, f"check failed: {type(exc).__name__}")
        return Check(name, bool(up), "connected" if up else "not connected")

    def _redis(self) -> Check:
        redis = self.bot.state.redis
        if not redis.available:
            return Check("redis", False, "not answering: answering without cache and memory", required=False)
        return Check("redis", True, "connected" if redis.shared else "in-process (set REDIS_URL)",
                     required=False)

    async def _bounded(self, awaitable: Awaitable):
        return await asyncio.wait_for(awaitable, timeout=self.settings.ops.readiness_timeout_s)
