"""The threads that prepare answers: retrieval and other CPU-bound work per question.

Why not asyncio's default executor: LangChain's streaming hops into that executor for every
streamed piece of every answer (its output parser and sync steps run there). When a burst of 200
questions queues 200 retrievals on it, every answer's stream waits behind the whole burst's
retrievals, and each question's answer time becomes the burst's (median equal to p95). A pool
of its own keeps those quick hops free, and its fixed size (throughput.max_preparing) takes
questions in arrival order: a question waits for the ones before it, not for all of them.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


class PreparationPool:
    def __init__(self, max_preparing: int) -> None:
        self.max_preparing = max_preparing
        self._executor = ThreadPoolExecutor(max_preparing, thread_name_prefix="prepare")

    async def run(self, func: Callable[..., T], *args: object) -> T:
        """func(*args) on one of the pool's threads, with the caller's context (log ids, tenant);
        a cancelled caller's work is dropped if it has not started."""
        context = contextvars.copy_context()
        call = functools.partial(context.run, func, *args)
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
