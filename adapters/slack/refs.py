"""What a button carries back: the thread it belongs to and the answer it is about.

Slack hands a button's `value` (up to 2,000 characters) back unchanged when it is pressed, so the
thread and answer travel with the button instead of living in one worker's memory: any worker,
even after a restart, can act on the press.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from bot.types import ConversationKey


class BadButtonValue(ValueError):
    """A button value this app did not write (or an older format)."""


@dataclass(frozen=True)
class ThreadRef:
    channel: str
    thread: str
    answer_id: str = ""

    @property
    def conversation(self) -> ConversationKey:
        return ConversationKey("slack", self.channel, self.thread)

    def encode(self) -> str:
        return json.dumps({"c": self.channel, "t": self.thread, "a": self.answer_id}, separators=(",", ":"))

    @classmethod
    def decode(cls, value: str) -> ThreadRef:
        try:
            data = json.loads(value)
            return cls(channel=str(data["c"]), thread=str(data["t"]), answer_id=str(data.get("a", "")))
        except (ValueError, KeyError, TypeError):
            raise BadButtonValue(f"not a supportbot button value: {value[:80]!r}") from None
