"""What every listener shares: the service, the Slack settings, and the work in flight.

Bolt acknowledges Slack first and runs a listener afterwards, and `/reindex` runs longer still,
so shutdown must wait for that work (adapters/inflight.py). Nothing here is state another worker
would need: that lives in the service's Redis.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from adapters.inflight import InFlight
from bot.service import SupportBot
from bot.settings import SlackSettings
from bot.state.leases import EventLease


EVENT_LEASE = "supportbot_event_lease"  # where app.py leaves the event's lease in bolt's context


def lease_of(context: Mapping[str, Any] | None) -> EventLease | None:
    return context.get(EVENT_LEASE) if context is not None else None


@dataclass
class Runtime:
    bot: SupportBot
    slack: SlackSettings
    inflight: InFlight = field(default_factory=InFlight)

    @asynccontextmanager
    async def working(self, context: Mapping[str, Any] | None = None) -> AsyncIterator[EventLease | None]:
        """Wrap a listener's work so that drain() waits for it. Given the listener's context, it
        also holds the event's lease (app.py took it): renewed while the work runs, done when it
        returns, given up if it raises. Yields the lease (None for requests that have none)."""
        lease = lease_of(context)
        async with self.inflight.working():
            if lease is None:
                yield None
                return
            async with lease.held():
                yield lease

    def spawn(self, work: Coroutine[Any, Any, Any], name: str) -> asyncio.Task:
        """Run work after the listener returned."""
        return self.inflight.spawn(work, name)

    async def drain(self, timeout_s: float = 30.0) -> bool:
        """Wait until no listener or background job is running; False if time ran out."""
        return await self.inflight.drain(timeout_s)
