"""Whether the bot may speak in a thread: decided here, once, for every platform.

Before an adapter shows anything (a placeholder, a typing indicator, a new thread), it asks
`SupportBot.may_speak`, which checks in this order:

1. the delivery: a platform's repeated delivery of the same event (or a replayed /ask) is
   claimed once (bot/state/dedupe.py, which fails closed); a copy gets nothing at all;
2. the hand-over: a thread a person has taken over stays quiet until they mark it resolved;
   someone who addressed the bot directly is told why (the adapter says it privately);
3. the rate limit: a user over it is told once, privately, when they may ask again (no
   placeholder, no new thread); further questions until then get no reply, so a flood costs one
   platform call, not one per message.

Only a SPEAK verdict lets the adapter answer, with the inquiry it returns (the token taken here is
not taken again by answer()).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING

from bot.state.connection import StateUnavailable
from bot.types import Inquiry

if TYPE_CHECKING:
    from bot.service import SupportBot

HANDED_OVER = ("A person from our support team is handling this conversation, so I'm staying out "
               "of it. I'll be back here once they mark it resolved.")


class Verdict(StrEnum):
    SPEAK = "speak"
    DUPLICATE = "duplicate"  # a copy of a delivery already being handled: say nothing
    HANDED_OVER = "handed-over"  # a person has this thread
    LIMITED = "limited"  # over the rate limit: tell them once (notice), then nothing


@dataclass(frozen=True)
class Delivery:
    """What identifies one delivery of a question: the platform's event, message or command id."""

    kind: str  # "slack", "discord", "slack-ask"…: each has its own id space
    id: str
    retry: bool = False  # the platform says this is a redelivery


@dataclass(frozen=True)
class SpeakDecision:
    verdict: Verdict
    inquiry: Inquiry
    notice: str = ""  # what to tell the asker privately; "" = nothing to say
    told_already: bool = False  # limited: they were told during this spell; a message gets no reply

    @property
    def speak(self) -> bool:
        return self.verdict is Verdict.SPEAK

    @property
    def tell(self) -> bool:
        """Whether a message (not a command, which always needs a reply) gets the notice."""
        return bool(self.notice) and not self.told_already


async def decide(bot: SupportBot, inquiry: Inquiry, delivery: Delivery | None, *, addressed: bool) -> SpeakDecision:
    """The verdict for one question (see the module docstring for the order and why)."""
    if delivery is not None and delivery.id and not await bot.first_delivery(
            delivery.kind, delivery.id, retry=delivery.retry):
        return SpeakDecision(Verdict.DUPLICATE, inquiry)
    if await bot.is_escalated(inquiry.conversation):
        return SpeakDecision(Verdict.HANDED_OVER, inquiry, HANDED_OVER if addressed else "")
    limit = await bot.rate_decision(inquiry)
    if not limit.allowed:
        first = await _first_limit_notice(bot, inquiry, limit.retry_after_s)
        return SpeakDecision(Verdict.LIMITED, inquiry, bot.busy_text(limit.retry_after_s), told_already=not first)
    return SpeakDecision(Verdict.SPEAK, replace(inquiry, rate_checked=True))


async def _first_limit_notice(bot: SupportBot, inquiry: Inquiry, retry_after_s: float) -> bool:
    """True once per limited spell of a user: the one time a message of theirs is answered with
    the notice. Unknown (Redis down) counts as the first: the limiter itself fails open then."""
    redis = bot.state.redis
    key = redis.key("rate-told", inquiry.conversation.platform, inquiry.user_id)
    ttl = max(1, math.ceil(retry_after_s))
    try:
        return bool(await redis.run(lambda r: r.set(key, 1, nx=True, ex=ttl)))
    except StateUnavailable:
        return True
