"""What a button carries back: the thread it belongs to, the answer it is about, who asked.

Slack hands a button's `value` (up to 2,000 characters) back unchanged when it is pressed, so the
thread and answer travel with the button instead of living in one worker's memory: any worker,
even after a restart, can act on the press. Values are sealed by the bot's ButtonSigner
(bot/buttons.py), so a press is acted on only if the bot wrote that value.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.buttons import ButtonClaim, ButtonSigner
from bot.types import ConversationKey


@dataclass(frozen=True)
class ThreadRef:
    channel: str
    thread: str
    answer_id: str = ""
    asker: str = ""  # the user the answer is for: the one who may press its buttons (besides staff)
    signer: ButtonSigner | None = field(default=None, compare=False, repr=False)

    def value(self, action: str, subject: str | None = None) -> str:
        """A sealed button value for `action` on this thread's answer (or on `subject`)."""
        if self.signer is None:
            raise ValueError("this ThreadRef has no signer: build it with the bot's button signer "
                             "(SupportBot.button_signer()) before rendering buttons")
        return self.signer.seal(ButtonClaim(action, self.channel, self.thread,
                                            self.answer_id if subject is None else subject, self.asker))

    @property
    def conversation(self) -> ConversationKey:
        return ConversationKey("slack", self.channel, self.thread)
