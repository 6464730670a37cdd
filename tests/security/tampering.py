"""Ways an attacker changes a button value the bot sealed (bot/buttons.py), shared by the Slack
and Discord button tests. Each takes a genuine value and the bot's signer and returns the forgery.
A genuine value is `action:channel:thread:subject:asker:expiry:tag`."""

from __future__ import annotations

import json

from bot.buttons import ButtonClaim, ButtonSigner


def _fields(value: str) -> list[str]:
    return value.split(":")


def _with(value: str, index: int, new: str) -> str:
    fields = _fields(value)
    fields[index] = new
    return ":".join(fields)


def _flip(char: str) -> str:
    return "A" if char != "A" else "B"


TAMPERS = {
    "garbage": lambda v, s: "not a value",
    "empty": lambda v, s: "",
    "unsigned-json": lambda v, s: json.dumps({"c": _fields(v)[1], "t": _fields(v)[2], "a": _fields(v)[3]}),
    "unsigned-id": lambda v, s: _fields(v)[3] or "0" * 32,
    "tag-flipped": lambda v, s: v[:-1] + _flip(v[-1]),
    "tag-dropped": lambda v, s: v.rsplit(":", 1)[0],
    "other-channel": lambda v, s: _with(v, 1, "COTHER" if _fields(v)[1] else "1/2"),
    "other-thread": lambda v, s: _with(v, 2, "1700000000.999999"),
    "other-subject": lambda v, s: _with(v, 3, "f" * 32),
    "other-asker": lambda v, s: _with(v, 4, "UATTACKER"),
    "expiry-extended": lambda v, s: _with(v, 5, "zzzzzzzz"),
    "other-secret": lambda v, s: ButtonSigner(b"an attacker's guess at the secret", 3600).seal(_claim(v)),
    "expired": lambda v, s: ButtonSigner(s._secret, 1, clock=lambda: 0).seal(_claim(v)),
}
EXPIRED = {"expired"}


def _claim(value: str) -> ButtonClaim:
    action, channel, thread, subject, asker, _, _ = _fields(value)
    return ButtonClaim(action, channel, thread, subject, asker)


def resealed(value: str, signer: ButtonSigner, **changes: str) -> str:
    """A genuine value for another action or place, sealed by the bot itself (a value that was real
    for one button, replayed on another)."""
    claim = _claim(value)
    return signer.seal(ButtonClaim(**{**claim.__dict__, **changes}))
