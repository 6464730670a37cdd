"""The work an adapter has in flight, so that stopping can let it finish, or abandon it cleanly.

Both adapters answer after acknowledging the platform (Slack's 3 s, Discord's interactions), and
/reindex runs longer still, so a stop must wait for that work: an answer half posted is a silent
bot. Each piece of work runs inside `working()` (or is started with `spawn()`); `drain()` waits for
all of it, and `abandon()` cancels what is left when the stop deadline comes. Work that is
cancelled finishes its message on the way out (see each adapter's delivery), so nothing stays
half posted.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import structlog

log = structlog.get_logger(__name__)


class InFlight:
    def __init__(self) -> None:
        self._running: set[asyncio.Task] = set()  # tasks inside working()
        self._spawned: set[asyncio.Task] = set()  # held here: asyncio keeps only weak references
        self._idle = asyncio.Event()
        self._idle.set()
        self._count = 0

    @asynccontextmanager
    async def working(self) -> AsyncIterator[None]:
        """Wrap a handler's work so that drain() waits for it and abandon() can cancel it."""
        task = asyncio.current_task()
        self._count += 1
        self._idle.clear()
        if task is not None:
            self._running.add(task)
        try:
            yield
        finally:
            if task is not None:
                self._running.discard(task)
            self._count -= 1
            if self._count == 0:
                self._idle.set()

    def spawn(self, work: Coroutine[Any, Any, Any], name: str) -> asyncio.Task:
        """Run work after the handler returned (a reindex, say), tracked like a handler."""

        async def tracked() -> Any:
            async with self.working():
                return await work

        task = asyncio.get_running_loop().create_task(tracked(), name=name)
        self._spawned.add(task)
        task.add_done_callback(self._spawned.discard)
        return task

    @property
    def count(self) -> int:
        return self._count

    async def drain(self, timeout_s: float = 30.0) -> bool:
        """Wait until nothing is running; False if time ran out."""
        try:
            await asyncio.wait_for(self._wait_idle(), timeout=timeout_s)
            return True
        except TimeoutError:
            return False

    async def abandon(self, timeout_s: float = 1.0) -> None:
        """Cancel whatever still runs and give it `timeout_s` to tidy its message up."""
        tasks = [t for t in self._running | self._spawned if not t.done()]
        if not tasks:
            return
        log.warning("stopping with work unfinished: abandoning it", tasks=len(tasks))
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks, timeout=timeout_s)

    async def _wait_idle(self) -> None:
        # A handler may start just as the last one ends; settle for a moment of real quiet.
        while True:
            await self._idle.wait()
            await asyncio.sleep(0.01)
            if self._idle.is_set():
                return
