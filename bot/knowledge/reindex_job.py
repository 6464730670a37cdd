"""A reindex as a background job: one at a time across workers, progress to an async callback.

The adapters' `/reindex` runs here. The lock that keeps it one at a time is short-lived and renewed
by a heartbeat while the job runs, so a worker that dies mid-reindex blocks `/reindex` for at most
`redis.lock_ttl_s` (30 s by default), not for hours. The embedding work runs in a worker thread so the event loop
(and with it the Slack socket or the Discord heartbeat) stays responsive; progress events cross
back to the loop and are delivered in order, skipping stale ones when the callback is slower than
the indexer (a chat message per batch would be noise).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import structlog

from bot.knowledge.indexer import IndexSummary, ReindexError
from bot.state.connection import StateUnavailable
from bot.state.guards import Lock

log = structlog.get_logger(__name__)
AsyncProgress = Callable[[str, int, int], Awaitable[None]]


class ReindexBusy(ReindexError):
    """Another reindex is running; the message says who started it and when."""


async def run_reindex_job(lock: Lock, run: Callable[..., IndexSummary], *, requested_by: str,
                          full: bool = False, on_progress: AsyncProgress | None = None) -> IndexSummary:
    await _acquire(lock, requested_by)
    loop = asyncio.get_running_loop()
    latest: asyncio.Queue[tuple[str, int, int] | None] = asyncio.Queue()
    deliver = loop.create_task(_deliver(latest, on_progress))

    def progress(stage: str, done: int, total: int) -> None:  # called in the worker thread
        loop.call_soon_threadsafe(latest.put_nowait, (stage, done, total))

    heartbeat = loop.create_task(_keep_alive(lock))
    try:
        return await asyncio.to_thread(run, full=full, on_progress=progress)
    finally:
        heartbeat.cancel()
        latest.put_nowait(None)
        await deliver
        try:
            await lock.release()
        except StateUnavailable:
            pass  # it expires by itself


async def _keep_alive(lock: Lock) -> None:
    """Renew the lock every third of its life while the job runs; a missed beat or two (Redis
    briefly away) is harmless, and a lost lock is logged: another reindex may start beside this one,
    which the index's own writer lock and generation switch keep safe."""
    while True:
        await asyncio.sleep(lock.ttl_s / 3)
        try:
            if not await lock.extend():
                log.warning("the reindex lock expired while the job ran; another /reindex may start",
                            lock=lock.key)
                return
        except StateUnavailable:
            continue


async def _acquire(lock: Lock, requested_by: str) -> None:
    try:
        if await lock.acquire(requested_by):
            return
        holder = await lock.holder()
    except StateUnavailable:
        return  # no shared lock without Redis; the store's own writer lock still serialises writes
    who, since = holder or ("someone", time.time())
    minutes = max(0, int((time.time() - since) // 60))
    raise ReindexBusy(f"A reindex started by {who} {minutes} minute(s) ago is still running. "
                      "Wait for its summary, then run /reindex again if you still need to.")


async def _deliver(events: asyncio.Queue, on_progress: AsyncProgress | None) -> None:
    finished = False
    while not finished:
        pending = [await events.get()]
        while not events.empty():
            pending.append(events.get_nowait())
        if pending[-1] is None:
            finished = True
            pending.pop()
        for event in _last_of_each_stage(pending):
            if on_progress:
                await _report(on_progress, event)


def _last_of_each_stage(events: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """Drop stale events but keep each stage's last one: skipping a stage would hide it."""
    return [e for i, e in enumerate(events) if i + 1 == len(events) or events[i + 1][0] != e[0]]


async def _report(on_progress: AsyncProgress, event: tuple[str, int, int]) -> None:
    try:
        await on_progress(*event)
    except Exception as exc:  # a failed progress message must not fail the reindex
        log.warning("could not deliver reindex progress", error=repr(exc))
