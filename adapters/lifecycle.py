"""Starting and stopping an adapter process: the same rules for Slack and Discord.

- **Start.** A refused credential or setting stops the start at once with one line saying what to
  fix (exit 2). A network failure is retried with capped exponential backoff for
  `startup_retry_s`, one warning line per attempt, then stops the start with one line naming
  what to check (exit 1). Nothing prints a traceback for a failure we understand.
- **Stop.** SIGTERM or SIGINT, at any moment (connecting, retrying, indexing, answering): the
  adapter stops receiving, lets answers in flight finish for DRAIN_S, then abandons what is left
  (each answer tidies its own message on the way out: an apology, never half a message) and exits
  0 within STOP_WITHIN_S. A second signal changes nothing; the deadline already holds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import structlog

from adapters.inflight import InFlight
from bot.logs import configure_from_settings
from bot.prompts import PromptError
from bot.settings import Settings, SettingsError, load_settings

log = structlog.get_logger(__name__)
T = TypeVar("T")

EXIT_STOPPED = 0
EXIT_UNREACHABLE = 1  # the platform could not be reached within the retry budget
EXIT_REFUSED = 2  # a setting or credential was refused: retrying would not help
STOP_WITHIN_S = 5.0
# The stop's own budget, well inside STOP_WITHIN_S: the rest is left for a loaded machine to
# deliver the signal and for the interpreter to exit.
CLOSE_S = 0.5  # to stop receiving (close the socket, the HTTP listener)
DRAIN_S = 1.5  # for answers in flight to finish
ABANDON_S = 0.8  # for abandoned answers to replace their message with an apology
HARD_STOP_S = 3.2  # after the signal, main is cancelled whatever it is doing
ATTEMPT_TIMEOUT_S = 10.0  # one connection attempt (a silently dropped packet must not hang the start)


class StartupFailure(Exception):
    """Why the adapter cannot start, in one line for the operator."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient

    @property
    def exit_code(self) -> int:
        return EXIT_UNREACHABLE if self.transient else EXIT_REFUSED


class Stopped(Exception):
    """A stop signal arrived before the start finished."""


def main(platform: str, argv: list[str] | None, check: Callable[[Settings], None],
         serve: Callable[[Settings, asyncio.Event], Coroutine[Any, Any, None]]) -> int:
    """`python -m adapters.<platform>`: settings checked (all problems listed, exit 2), then
    `serve(settings, stop)` run until it ends or a signal stops it."""
    parser = argparse.ArgumentParser(prog=f"python -m adapters.{platform.lower()}",
                                     description=f"Run supportbot in {platform}.")
    parser.add_argument("--config", help="settings file (default: config/supportbot.toml)")
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.config)
        check(settings)
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return EXIT_REFUSED
    configure_from_settings(settings, long_running=True)
    return run(lambda stop: serve(settings, stop))


def refuse(platform: str, problems: list[str]) -> None:
    """Stop the start with every problem named at once (SettingsError: exit 2)."""
    if problems:
        raise SettingsError(f"The {platform} adapter cannot start:\n" + "\n".join(f"  - {p}" for p in problems))


def run(main: Callable[[asyncio.Event], Coroutine[Any, Any, None]]) -> int:
    """Run `main(stop)` until it returns or a signal stops it, then exit the process with its
    code (see _exit_now): only the adapters' entry points call this."""
    try:
        code = asyncio.run(_supervise(main))
        log.warning("stopped")
    except StartupFailure as exc:
        print(str(exc), file=sys.stderr, flush=True)
        code = exc.exit_code
    _exit_now(code)
    return code  # not reached: for readers and type checkers


async def _supervise(main: Callable[[asyncio.Event], Coroutine[Any, Any, None]]) -> int:
    loop = asyncio.get_running_loop()
    # Blocking work (loading the model, a first index) runs in threads we will not wait for.
    loop.set_default_executor(_EXECUTOR)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    task = loop.create_task(main(stop), name="adapter-main")
    stopped = loop.create_task(stop.wait())
    await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    if not task.done():
        log.warning("stopping")
        # main sees the same event and winds down; the deadline is enforced here all the same.
        await asyncio.wait({task}, timeout=HARD_STOP_S)
        if not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=0.3)
    stopped.cancel()
    if task.done() and not task.cancelled():
        exc = task.exception()
        if isinstance(exc, Stopped) or (exc is None):
            return EXIT_STOPPED
        if isinstance(exc, StartupFailure) and stop.is_set():
            return EXIT_STOPPED  # a start cut short by the signal is not a failure
        raise exc
    return EXIT_STOPPED


async def unless_stopped(work: Awaitable[T], stop: asyncio.Event) -> T:
    """`await work`, unless a stop comes first: then cancel it and raise Stopped."""
    task = asyncio.ensure_future(work)
    waiter = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        raise Stopped
    return task.result()


async def in_thread(build: Callable[..., T], *args: Any) -> T:
    """Build something heavy (the bot: model, index, prompts) off the event loop; a problem with
    the settings or the prompt files becomes a one-line StartupFailure, not a traceback."""
    try:
        return await asyncio.to_thread(build, *args)
    except (SettingsError, PromptError) as exc:
        raise StartupFailure(str(exc)) from None


async def retry_transient(attempt: Callable[[], Awaitable[T]], *, what: str, budget_s: float,
                          stop: asyncio.Event, cap_s: float = 8.0) -> T:
    """`attempt()` until it succeeds; transient StartupFailures are retried with capped backoff
    for `budget_s`, then raised; anything else is raised at once. A stop ends it early."""
    deadline = time.monotonic() + budget_s
    delay, attempts = 0.5, 0
    while True:
        attempts += 1
        left = max(deadline - time.monotonic(), 0.5)
        try:
            return await unless_stopped(asyncio.wait_for(attempt(), min(ATTEMPT_TIMEOUT_S, left)), stop)
        except TimeoutError:
            failure = StartupFailure(f"{what}: no answer within {min(ATTEMPT_TIMEOUT_S, left):.0f} s", transient=True)
        except StartupFailure as exc:
            failure = exc
        if not failure.transient or time.monotonic() + delay > deadline:
            if failure.transient:
                raise StartupFailure(f"{failure} (gave up after {attempts} attempts in {budget_s:.0f} s)",
                                     transient=True)
            raise failure
        log.warning(f"{failure}; retrying", in_s=delay, attempt=attempts)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        if stop.is_set():
            raise Stopped
        delay = min(delay * 2, cap_s)


async def wind_down(inflight: InFlight) -> None:
    """After receiving has stopped: let answers finish for DRAIN_S, then abandon the rest."""
    if not await inflight.drain(DRAIN_S):
        await inflight.abandon(ABANDON_S)


async def finish_before_stop(work: Awaitable[Any], what: str) -> None:
    """Tidy-up an abandoned answer does on its way out: bounded, and never raises."""
    try:
        await asyncio.wait_for(work, ABANDON_S * 0.8)
    except (Exception, asyncio.CancelledError) as exc:
        log.warning(f"could not {what} while stopping", error=repr(exc))


class _UnwaitedExecutor(ThreadPoolExecutor):
    """asyncio waits for its executor when the loop closes; a first index could take minutes.
    It also counts the work running, so that leaving unfinished work can be said in the log."""

    def __init__(self) -> None:
        super().__init__(thread_name_prefix="adapter-work")
        self.running = 0
        self._count_lock = threading.Lock()

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[override]
        def counted() -> Any:
            with self._count_lock:
                self.running += 1
            try:
                return fn(*args, **kwargs)
            finally:
                with self._count_lock:
                    self.running -= 1

        return super().submit(counted)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        super().shutdown(wait=False, cancel_futures=True)


_EXECUTOR = _UnwaitedExecutor()


def _exit_now(code: int) -> None:
    """Everything is closed by now (connections, Redis, HTTP sessions). What is left is Python's
    own teardown, which waits for worker threads (a first index the stop cut short: it writes
    beside the live index and switches only when done, so leaving it is safe) and unloads the
    embedding model, seconds on a loaded machine. The stop deadline is ours, so exit directly."""
    if _EXECUTOR.running:
        log.warning("left unfinished background work (an index being built is rebuilt next time)",
                    tasks=_EXECUTOR.running)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
