"""How late this event loop runs its timers: tells "this worker is busy" from "Redis is slow".

A Redis reply can sit in the socket while the loop runs other coroutines' CPU work; if that takes
longer than the socket timeout, redis-py raises TimeoutError although Redis answered in time.
RedisState asks this monitor how late the loop has been before it blames Redis.

One task sleeps `interval_s` at a time and records how much later than asked it woke. lag_s()
is the worst lateness of the last `window_s`, and also counts a wake-up that is overdue right now:
a timeout raised while the loop is still catching up is handled before the monitor's own timer
gets its turn, so the recorded figures alone would miss the block that caused it.
"""

from __future__ import annotations

import asyncio
from collections import deque


class LoopLag:
    def __init__(self, *, interval_s: float = 0.05, window_s: float = 2.0) -> None:
        self.interval_s = interval_s
        self.window_s = window_s
        self._late: deque[tuple[float, float]] = deque()  # (woke at, seconds late), oldest first
        self._due: float | None = None  # when the monitor should next run, in loop time
        self._task: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        """Start watching the running loop (again if it changed, e.g. one loop per test)."""
        loop = asyncio.get_running_loop()
        if self._task is not None and not self._task.done() and self._loop is loop:
            return
        self._loop = loop
        self._late.clear()
        self._due = loop.time()  # a task just created should run at once
        self._task = loop.create_task(self._watch(), name="redis-loop-lag")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None or task.done():
            return
        task.cancel()
        if task.get_loop() is asyncio.get_running_loop():
            await asyncio.gather(task, return_exceptions=True)

    def lag_s(self) -> float:
        """The worst lateness in the last window_s, including a wake-up overdue now (0 if not started)."""
        if self._loop is None or self._due is None:
            return 0.0
        now = self._loop.time()
        self._forget(now)
        worst = max((late for _, late in self._late), default=0.0)
        return max(worst, now - self._due)

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._due = loop.time() + self.interval_s
            await asyncio.sleep(self.interval_s)
            now = loop.time()
            late = now - self._due
            if late > 0:
                self._late.append((now, late))
            self._forget(now)

    def _forget(self, now: float) -> None:
        while self._late and self._late[0][0] < now - self.window_s:
            self._late.popleft()
