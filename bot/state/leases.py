"""A worker's lease on one platform event: held while it answers, a done marker once it replied.

A Slack worker can die between acknowledging nothing yet and posting the answer; Slack then
redelivers the event, and another worker must be able to answer it. A claim that lasted the whole
`event_ttl_s` would refuse that retry for an hour, so a claim is a short lease instead:

- one Redis key per event, holding `lease:<token>` with an expiry of `redis.event_lease_s`, renewed
  by the claiming worker every third of that while it is producing the answer;
- when the reply was posted the key becomes the done marker `done`, kept `event_ttl_s`;
- a later delivery is answered only when the key is gone: no done marker, and the lease lapsed
  because nobody renewed it (its worker died or gave up).

Each step is one Lua script, so two retries racing for a lapsed lease cannot both win, and a
worker whose lease was taken over can never renew, finish or free the new holder's.

The window that remains: a worker checks that the lease is still its own just before it posts
(`still_ours`), but a stall longer than the lease between that check and Slack accepting the post
(the event loop blocked, the post itself slow) lets a retry on another worker take over and post
too. With a 1.5 s lease renewed every 0.5 s that needs a stall of over a second and a
retry arriving during it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import structlog

from bot.state.connection import StateUnavailable

if TYPE_CHECKING:
    from bot.state.dedupe import EventDeduper

log = structlog.get_logger(__name__)

LEASE_PREFIX = "lease:"
DONE = "done"

# Take the event if nobody holds it. Any value that is not a lease is a done marker (also the
# plain "1" claims of earlier versions, so a rolling upgrade refuses what they answered).
CLAIM = """
local held = redis.call('GET', KEYS[1])
if not held then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 'won'
end
if string.sub(held, 1, 6) == 'lease:' then return 'busy' end
return 'done'
"""

# Ours: extend it. Gone (it lapsed during a stall and nobody took it): ours again, as nobody else
# is answering. Another worker's, or done: lost.
RENEW = """
local held = redis.call('GET', KEYS[1])
if held == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not held then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""

# The reply was posted: the done marker, unless another worker took the event over meanwhile.
FINISH = """
local held = redis.call('GET', KEYS[1])
if held == ARGV[1] or not held then
  redis.call('SET', KEYS[1], 'done', 'EX', ARGV[2])
  return 1
end
return 0
"""

# This worker gave up without replying: free the event at once for a retry (only if still ours).
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class EventLease:
    """This worker's claim on one event. `held()` renews it while the answer is produced and ends
    it: finished (done marker) when the body returns, released when it raises."""

    def __init__(self, deduper: EventDeduper, key: str, token: str, *, in_redis: bool) -> None:
        self.deduper = deduper
        self.key = key
        self.token = token
        # False: Redis did not answer the claim in time and this worker decided alone (dedupe.py).
        self.in_redis = in_redis
        self.lost = False  # another worker holds or finished it: do not post
        self._ending = False  # held() is finishing or releasing: renewals stop
        self._settled = asyncio.Event()

    @property
    def settled(self) -> bool:
        return self._settled.is_set()

    async def wait_settled(self, timeout_s: float) -> bool:
        """Wait until the lease was finished or released; False if `timeout_s` passed first."""
        if timeout_s <= 0:
            return self.settled
        try:
            await asyncio.wait_for(self._settled.wait(), timeout=timeout_s)
        except TimeoutError:
            return False
        return True

    async def still_ours(self) -> bool:
        """Checked just before posting: renews the lease and says whether it is still this
        worker's. Unknown (Redis does not answer) counts as ours: while Redis cannot answer this
        worker it is likely not answering the others' claims either, and they refuse retries then."""
        if self.lost:
            return False
        # Also when the claim was decided in this worker alone (in_redis False): Redis may be back,
        # and a retry may have found no lease there and taken the event.
        try:
            ours = await self._script(self.deduper.renew_script, self.deduper.lease_ms)
        except StateUnavailable:
            return True
        if not ours:
            await self._lose()
        return bool(ours)

    @contextlib.asynccontextmanager
    async def held(self) -> AsyncIterator[EventLease]:
        renewing = asyncio.get_running_loop().create_task(self._renew_until_done(), name=f"renew {self.key}")
        try:
            yield self
        except BaseException:
            self._ending = True
            renewing.cancel()
            await self.release()
            raise
        # Flagged as well as cancelled: on Python 3.11 a cancel that meets a renewal's reply at the
        # same moment can be swallowed by wait_for, and that renewal would then find "done".
        self._ending = True
        renewing.cancel()
        await self.finish()

    async def finish(self) -> None:
        """The reply was posted: refuse every later delivery for `event_ttl_s`."""
        if self.settled:
            return
        self.deduper.local.keep(self.key)
        if self.lost:  # nothing was posted (taken_over), and the event is the other worker's now
            self._settled.set()
            return
        try:
            done = await self._script(self.deduper.finish_script, self.deduper.ttl_s)
        except StateUnavailable as exc:
            # The in-process claim still refuses copies reaching this worker; a retry reaching
            # another worker finds the lease lapsed and answers again (it cannot know better).
            log.warning("could not mark an answered event done in Redis", key=self.key, error=repr(exc))
            done = True
        if not done:
            log.error("posted a reply for an event another worker had taken over (a stall longer than "
                      "the lease): the asker may see two replies", key=self.key)
        self._settled.set()

    async def release(self) -> None:
        """No reply was posted: let a retry (to this worker or another) answer at once."""
        if self.settled:
            return
        self.deduper.local.forget(self.key)
        with contextlib.suppress(StateUnavailable):
            await self._script(self.deduper.release_script)
        self._settled.set()

    async def _renew_until_done(self) -> None:
        every_s = self.deduper.lease_s / 3
        while not self.lost:
            await asyncio.sleep(every_s)
            if self._ending:
                return
            try:
                if not await self._script(self.deduper.renew_script, self.deduper.lease_ms) and not self._ending:
                    await self._lose()
            except StateUnavailable:
                continue  # Redis is away: keep answering (dedupe fails closed for the others)

    async def _lose(self) -> None:
        if not self.lost:
            try:  # who has it, for the log: another worker's lease, or "done" (it replied already)
                holder = await self.deduper.state.run(lambda r: r.get(self.key))
            except StateUnavailable:
                holder = None
            log.warning("lost the lease on an event to another worker (this one did not renew it in "
                        "time: stalled, or Redis did not answer); not posting its reply", key=self.key,
                        held_by=holder, ours=self.token, in_redis=self.in_redis)
        self.lost = True

    async def _script(self, script, *args) -> int:
        # Bounded by the connection's own timeouts, not the claim's budget: the budget keeps a
        # claim off Slack's 3 s path, while a renewal cut short on a busy event loop would let a
        # live worker's lease lapse.
        return await self.deduper.state.run(lambda r: script(keys=[self.key], args=[self.token, *args], client=r))
