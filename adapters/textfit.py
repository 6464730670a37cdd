"""Fitting text into a platform's length limits without breaking it: shared by both adapters.

Slack and Discord refuse a message whose text is too long, so long text is split (or shortened)
before it is sent, and the length is measured on the text exactly as it will be sent: after
escaping. A cut never falls inside an "atom", a piece of markup that is meaningless when halved:
Slack's `&amp;` entities and `<url|label>` links, Discord's `[label](<url>)` links and `<@id>`
mentions. Each adapter passes its own atom pattern. Cuts prefer paragraph ends, then line ends,
then sentence ends, then spaces; a code block cut in two is closed and reopened.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

FENCE = "```"
ELLIPSIS = "…"
# Preferred cut points, best first, each with how far into the window it must fall to be taken
# (cutting a 3,000-character window after 20 characters would make a flood of tiny pieces).
_BOUNDARIES = ((re.compile(r"\n[ \t]*\n"), 0.4), (re.compile(r"\n"), 0.4),
               (re.compile(r"(?<=[.!?;:])[ \t]+"), 0.4), (re.compile(r"[ \t]+"), 0.2))
_FENCE_OPEN = re.compile(r"```(\w{0,20})")


def split(text: str, limit: int, atoms: re.Pattern[str]) -> list[str]:
    """`text` in pieces of at most `limit` characters, none cutting an atom; no text is lost
    except whitespace at the cuts. A code block cut in two is closed and reopened."""
    text = text.strip()
    if len(text) <= limit:
        return [text] if text else []
    room = limit - 32 if FENCE in text else limit  # a closing fence and a reopening one
    return _balance_fences(list(_pieces(text, room, atoms)))


def truncate(text: str, limit: int, atoms: re.Pattern[str], ellipsis: str = ELLIPSIS) -> str:
    """`text` shortened to at most `limit` characters at the best boundary, ending in `ellipsis`."""
    text = text.strip()
    if len(text) <= limit:
        return text
    room = limit - len(ellipsis)
    cut = _best_cut(text, room, atoms)
    head = text[:cut].rstrip()
    if head.count(FENCE) % 2:  # never leave a code block open
        head = truncate(head, room - len(FENCE) - 1, atoms, "") + "\n" + FENCE
    return head + ellipsis


def fits(text: str, limit: int) -> bool:
    return 0 < len(text) <= limit


def pack_lines(head: str, lines: list[str], limit: int, more: Callable[[int], str]) -> str:
    """`head` and as many of `lines` as fit in `limit` characters, one per line, then `more(n)`
    for the n left out: a long list is summarised, never cut in the middle of a line."""
    text = head
    for shown, line in enumerate(lines):
        left = len(lines) - shown - 1
        reserve = len(more(left)) + 1 if left else 0
        if len(text) + 1 + len(line) + reserve > limit:
            return text + "\n" + more(len(lines) - shown)
        text += "\n" + line
    return text


def _pieces(text: str, limit: int, atoms: re.Pattern[str]) -> Iterator[str]:
    rest = text
    while len(rest) > limit:
        cut = _best_cut(rest, limit, atoms)
        piece = rest[:cut].rstrip()
        if piece:
            yield piece
        rest = rest[cut:].lstrip()
    if rest:
        yield rest


def _best_cut(text: str, limit: int, atoms: re.Pattern[str]) -> int:
    """Where to cut `text` so that text[:cut] has at most `limit` characters: the best boundary
    in reach that is not inside an atom, else the last position not inside one."""
    spans = [m.span() for m in atoms.finditer(text, 0, min(len(text), limit + 4096))]

    def inside(position: int) -> bool:
        return any(start < position < end for start, end in spans)

    for pattern, reach in _BOUNDARIES:
        ends = [m.end() for m in pattern.finditer(text, 0, limit + 1) if m.end() <= limit and not inside(m.start())]
        ends = [e for e in ends if e >= reach * limit]
        if ends:
            return ends[-1]
    for position in range(limit, 0, -1):
        if not inside(position):
            return position
    return limit  # an atom longer than the limit: callers bound their atoms, so this never happens


def _balance_fences(pieces: list[str]) -> list[str]:
    balanced: list[str] = []
    reopen = ""
    for piece in pieces:
        piece = reopen + piece
        if piece.count(FENCE) % 2:  # ends inside a code block
            language = _FENCE_OPEN.findall(piece)[-1]
            balanced.append(piece + "\n" + FENCE)
            reopen = FENCE + language + "\n"
        else:
            balanced.append(piece)
            reopen = ""
    return balanced
