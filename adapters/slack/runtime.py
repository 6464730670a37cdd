"""What every listener shares: the service, the Slack settings, and the work in flight.

Bolt acknowledges Slack first and runs a listener afterwards, and `/reindex` runs longer still,
so shutdown must wait for that work (an answer half posted is a silent bot). Nothing here is
state another worker would need: that lives in the service's Redis.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import structlog

from bot.service import SupportBot
from bot.settings import SlackSettings

log = structlog.get_logger(__name__)


@dataclass
class Runtime:
    bot: SupportBot
    slack: SlackSettings
    _in_flight: int = 0
    _idle: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: set[asyncio.Task] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._idle.set()

    @asynccontextmanager
    async def working(self) -> AsyncIterator[None]:
        """Wrap a listener's work so that drain() waits for it."""
        self._in_flight += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()

    def spawn(self, work: Coroutine[Any, Any, Any], name: str) -> asyncio.Task:
        """Run work after the listener returned (held here: asyncio keeps only weak references)."""

        async def tracked() -> Any:
            async with self.working():
                return await work

        task = asyncio.get_running_loop().create_task(tracked(), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def drain(self, timeout_s: float = 30.0) -> bool:
        """Wait until no listener or background job is running; False if time ran out."""
        try:
            await asyncio.wait_for(self._wait_idle(), timeout=timeout_s)
            return True
        except TimeoutError:
            log.warning("shutting down with Slack work still running", in_flight=self._in_flight)
            return False

    async def _wait_idle(self) -> None:
        # A listener may start just as the last one ends; settle for a moment of real quiet.
        while True:
            await self._idle.wait()
            await asyncio.sleep(0.01)
            if self._idle.is_set():
                return
