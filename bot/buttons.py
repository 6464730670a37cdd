"""Signed buttons: what a button carries back is checked before the bot acts on it.

A button's value (Slack) or custom_id (Discord) comes back from the platform when pressed, and
the bot acts on what it says: which thread to hand over, which answer to rate, which hand-over to
resolve. So every value the bot writes is sealed with an HMAC over its fields and an expiry, and a
press whose value was changed, made up or is too old is refused before anything happens.

The fields name the action, the conversation (channel and thread) and the answer or hand-over, and
who asked, so a value copied into another thread or onto another answer no longer verifies. The
seal is compact (Discord allows 100 characters in a custom_id): fields joined by ":", the expiry in
base 36 and 12 bytes of HMAC-SHA256 in URL-safe base64.

Who may press what is decided here too (press_refusal), once for both platforms: Mark resolved is
for staff, Talk to a human and feedback for the person who asked, or staff.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass

SEPARATOR = ":"
MAC_BYTES = 12  # 96 bits: a forger must guess the secret, not the tag

# Actions, as sealed into a value; short because Discord's custom_id is.
HUMAN = "h"
HELPFUL = "y"
NOT_HELPFUL = "n"
RESOLVE = "r"
ACTIONS = (HUMAN, HELPFUL, NOT_HELPFUL, RESOLVE)

# What a refused press is told, privately. Never says more than that the press did nothing.
FORGED = ("That button isn't one I recognise, so I didn't act on it. If you need help, ask your "
          "question again and use the buttons under the new answer.")
EXPIRED = ("That button is from an older message I can no longer act on. Please ask your question "
           "again.")
STAFF_ONLY = "Only our support team can mark a hand-over resolved."
ASKER_ONLY = ("These buttons belong to the person who asked this question. If you need help too, "
              "ask me your own question.")


class BadButton(ValueError):
    """A value the bot did not write, changed on the way, or too old to act on."""

    def __init__(self, reply: str, reason: str) -> None:
        super().__init__(reason)
        self.reply = reply  # what the person who pressed is told


@dataclass(frozen=True)
class ButtonClaim:
    """What a verified value says: an action on a conversation, by or for the person who asked."""

    action: str
    channel: str
    thread: str
    subject: str  # the answer id (human, feedback), or the escalation id (resolve); may be ""
    asker: str  # the user the answer was for; "" on staff-only buttons


class ButtonSigner:
    def __init__(self, secret: bytes, ttl_s: int, *, clock=time.time) -> None:
        if len(secret) < 16:
            raise ValueError("the button signing secret must be at least 16 bytes")
        self._secret = secret
        self.ttl_s = ttl_s
        self._clock = clock

    def seal(self, claim: ButtonClaim) -> str:
        """The value to put on a button: the claim's fields, an expiry and the tag."""
        fields = [claim.action, claim.channel, claim.thread, claim.subject, claim.asker]
        for value in fields:
            if SEPARATOR in value:
                raise ValueError(f"a button field cannot contain {SEPARATOR!r}: {value!r}")
        expires = _base36(int(self._clock()) + self.ttl_s)
        body = SEPARATOR.join([*fields, expires])
        return f"{body}{SEPARATOR}{self._tag(body)}"

    def open(self, value: str) -> ButtonClaim:
        """The claim in a value, or BadButton (forged, tampered with, or expired)."""
        body, _, tag = value.rpartition(SEPARATOR)
        parts = body.split(SEPARATOR)
        if len(parts) != 6 or not hmac.compare_digest(tag.encode(), self._tag(body).encode()):
            raise BadButton(FORGED, f"not signed by this bot: {value[:120]!r}")
        action, channel, thread, subject, asker, expires = parts
        if action not in ACTIONS:
            raise BadButton(FORGED, f"unknown action {action!r}")
        try:
            expired = int(expires, 36) < self._clock()
        except ValueError:
            raise BadButton(FORGED, f"unreadable expiry {expires!r}") from None
        if expired:
            raise BadButton(EXPIRED, "expired")
        return ButtonClaim(action, channel, thread, subject, asker)

    def _tag(self, body: str) -> str:
        digest = hmac.new(self._secret, body.encode(), hashlib.sha256).digest()[:MAC_BYTES]
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")


@dataclass(frozen=True)
class Presser:
    """Who pressed, as the adapter established it from the platform's payload and the settings."""

    user_id: str
    is_staff: bool


def press_refusal(claim: ButtonClaim, presser: Presser) -> str | None:
    """None if this person may press this button, else the private, polite reason they may not."""
    if claim.action == RESOLVE:
        return None if presser.is_staff else STAFF_ONLY
    if presser.is_staff or (claim.asker and presser.user_id == claim.asker):
        return None
    return ASKER_ONLY


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out
