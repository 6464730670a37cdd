"""Event dedupe that never replies twice: platforms retry deliveries, one claim wins.

Two kinds of claim, both taken in this worker's memory first (synchronously, so hundreds of copies
arriving at once cannot all pass) and then in Redis, so that exactly one worker answers:

- `lease()` (Slack events, which Slack redelivers when a worker did not acknowledge them): a short
  lease the worker renews while answering, and a done marker once it replied (leases.py). A retry
  is answered only when there is no done marker and the lease lapsed: its worker died.
- `claim()` (Discord messages and interactions, /ask, hand-overs: nothing redelivers those after a
  worker died, so a lease would buy nothing): the done marker at once, kept `event_ttl_s`.

Redis is given a budget (`redis.claim_budget_s`); when it cannot answer within it (down, or
stalled), the in-process claim decides alone instead of letting every copy through:

- a first delivery is answered (only this worker could have seen it; a second worker receiving
  the same delivery during the same outage is the one case not covered);
- a delivery the platform marks as a retry is not answered, since whether another worker already
  answered it is unknown.

The in-process claims are bounded (oldest dropped first) and expire after `redis.event_ttl_s`; a
lease this worker gives up (its answer failed before anything was posted) is forgotten at once, so
that a retry to this same worker is not refused.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import OrderedDict

import structlog

from bot.state.connection import RedisState, StateUnavailable
from bot.state.leases import CLAIM, DONE, FINISH, LEASE_PREFIX, RELEASE, RENEW, EventLease

log = structlog.get_logger(__name__)
LOCAL_CLAIMS_MAX = 100_000
BUSY_POLL_S = 0.1  # how often a retry waiting on another worker's lease looks again


class LocalClaims:
    """Event ids this worker has claimed, each for ttl_s seconds, at most max_entries of them."""

    def __init__(self, ttl_s: float, max_entries: int = LOCAL_CLAIMS_MAX, *, clock=time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._clock = clock
        self._expiry: OrderedDict[str, float] = OrderedDict()

    def claim(self, key: str) -> bool:
        """True for the first claim of `key` (until it expires or is forgotten), False for every later one."""
        now = self._clock()
        self._forget_expired(now)
        if key in self._expiry:
            return False
        self._expiry[key] = now + self.ttl_s
        while len(self._expiry) > self.max_entries:
            self._expiry.popitem(last=False)
        return True

    def keep(self, key: str) -> None:
        """Refuse `key` for ttl_s from now (it was answered)."""
        self._expiry.pop(key, None)
        self._expiry[key] = self._clock() + self.ttl_s

    def forget(self, key: str) -> None:
        """Let the next claim of `key` through (this worker gave it up)."""
        self._expiry.pop(key, None)

    def __len__(self) -> int:
        return len(self._expiry)

    def _forget_expired(self, now: float) -> None:
        # Every entry lives equally long from when it was last set, and keep() moves an entry to
        # the end, so insertion order is expiry order.
        while self._expiry and next(iter(self._expiry.values())) <= now:
            self._expiry.popitem(last=False)


class EventDeduper:
    def __init__(self, state: RedisState, ttl_s: int, budget_s: float, lease_s: float = 10.0) -> None:
        self.state = state
        self.ttl_s = ttl_s
        self.budget_s = budget_s
        self.lease_s = lease_s
        self.local = LocalClaims(ttl_s)
        # Scripts run by hash (EVALSHA), loaded on first use; each is one atomic step (leases.py).
        self.claim_script = state.client.register_script(CLAIM)
        self.renew_script = state.client.register_script(RENEW)
        self.finish_script = state.client.register_script(FINISH)
        self.release_script = state.client.register_script(RELEASE)

    @property
    def lease_ms(self) -> int:
        return int(self.lease_s * 1000)

    async def claim(self, platform: str, event_id: str, *, retry: bool = False) -> bool:
        """True if this delivery is the one to answer, for good (the done marker at once).
        `retry`: the platform says it is a redelivery."""
        key = self.state.key("event", platform, event_id)
        if not self.local.claim(key):
            return False
        try:
            won = await asyncio.wait_for(self.state.run(lambda r: r.set(key, DONE, nx=True, ex=self.ttl_s)),
                                         timeout=self.budget_s)
        except (StateUnavailable, asyncio.TimeoutError) as exc:
            return self._decide_alone(platform, event_id, retry, exc)
        return bool(won)

    async def lease(self, platform: str, event_id: str, *, retry: bool = False,
                    wait_s: float = 0.0) -> EventLease | None:
        """A lease on the event if this delivery is the one to answer, else None.

        A retry that finds another worker's live lease looks again every BUSY_POLL_S for up to
        `wait_s`: if that worker died just now its lease lapses within `event_lease_s`, and the
        retry takes the event over; if the reply is posted meanwhile, or time runs out, the retry
        is refused (the holder is alive, or was until moments ago).
        """
        key = self.state.key("event", platform, event_id)
        if not self.local.claim(key):
            return None
        token = f"{LEASE_PREFIX}{uuid.uuid4().hex}"
        deadline = time.monotonic() + wait_s
        busy = False  # Redis said another worker holds it
        while True:
            try:
                outcome = await asyncio.wait_for(self.state.run(lambda r: self.claim_script(
                    keys=[key], args=[token, self.lease_ms], client=r)), timeout=self.budget_s)
            except (StateUnavailable, asyncio.TimeoutError) as exc:
                if busy and time.monotonic() + BUSY_POLL_S <= deadline:
                    # Redis answered "busy" moments ago: a look that timed out (a busy event loop,
                    # often) changes nothing, and refusing now would lose an event whose worker died.
                    await asyncio.sleep(BUSY_POLL_S)
                    continue
                if self._decide_alone(platform, event_id, retry, exc):
                    return EventLease(self, key, token, in_redis=False)
                return None
            outcome = outcome.decode() if isinstance(outcome, bytes) else outcome
            if outcome == "won":
                return EventLease(self, key, token, in_redis=True)
            if outcome != "busy":  # done: answered already, refuse for as long as Redis does
                return None
            busy = True
            if not retry or time.monotonic() + BUSY_POLL_S > deadline:
                self.local.forget(key)  # that worker may die yet: a later retry here must be let in
                return None
            await asyncio.sleep(BUSY_POLL_S)

    def _decide_alone(self, platform: str, event_id: str, retry: bool, exc: BaseException) -> bool:
        """Redis did not answer within the budget: the in-process claim (taken) decides."""
        if retry:
            log.warning("a retried delivery whose claim is unknown (Redis did not answer); not "
                        "answering it", platform=platform, event_id=event_id, error=repr(exc))
            return False
        return True
