"""A passage read as the pieces an answer may quote: sentences, and lists with their introduction.

Policy pages say much of what matters in lists, steps and tables, introduced by a sentence that
ends in a colon. Split into loose sentences, the introduction is quoted without its list ("The
following cannot be returned:") or an item without what it is an item of. Here a sentence that
ends in a colon owns the items that follow it:

- bulleted (``-``, ``*``, ``+``, ``•``) or numbered (``1.``, ``2)``) lines, and table rows (``|``);
- in plain text, which has no markers, the short lines right after it (at most MAX_PLAIN_ITEMS).

A list with no introduction is one piece of its own, and an introduction whose list is missing
(the passage was cut just after it) is left out: on its own it only promises something.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
# "12:00 p.m. Pacific", "U.S. Mail", "e.g. A": a full stop that ends an abbreviation, not a sentence.
_ABBREVIATION = re.compile(r"(?:\b[A-Za-z]\.){2,}$|\b(?:etc|vs|No|Nos|Mr|Mrs|Ms|Dr|St|Inc|Ltd|Co|approx)\.$")
_ITEM = re.compile(r"^(?:[-*+•]|\d{1,2}[.)])\s+")
_TABLE_RULE = re.compile(r"^\|?[\s:|-]+\|[\s:|-]*$")  # |---|:--:| between a header and its rows
MIN_SENTENCE_CHARS = 25  # shorter lines are labels, headings or fragments, not statements
MAX_ITEMS = 12  # a longer list is quoted up to here, then "…"
MAX_PLAIN_ITEMS = 6
MAX_PLAIN_ITEM_CHARS = 200
MAX_LABEL_CHARS = 80


@dataclass
class Piece:
    """One quotable unit: a sentence, optionally with the list it introduces."""

    intro: str | None
    items: list[str] = field(default_factory=list)  # as written, markers included
    plain_items: bool = False  # items are unmarked lines (plain text)

    @property
    def parts(self) -> list[str]:
        """The texts whose meaning is matched against the question."""
        return ([self.intro] if self.intro else []) + [_item_text(item) for item in self.items]

    @property
    def text(self) -> str:
        return "\n".join(self.lines())

    @property
    def first_line(self) -> str:
        """The same list or sentence seen in two overlapping passages shares this."""
        return self.intro or self.items[0]

    @property
    def complete(self) -> bool:
        if self.intro and self.intro.endswith(":"):
            return bool(self.items)  # an introduction needs what it introduces
        return bool(self.intro or self.items)

    def lines(self) -> list[str]:
        """Markdown lines: the sentence, then each item on its own line."""
        items = self.items[:MAX_ITEMS] + (["…"] if len(self.items) > MAX_ITEMS else [])
        shown = [_plain(item) if _ITEM.match(item) or item.startswith("|") else f"- {_plain(item)}"
                 for item in items]
        return ([_plain(self.intro)] if self.intro else []) + shown


def _item_text(item: str) -> str:
    return _ITEM.sub("", item).strip(" |")


def _plain(text: str) -> str:
    # Markdown emphasis inside a quote adds nothing and can break renderers' blockquotes.
    return text.replace("**", "").strip()


def sentences_of(line: str) -> list[str]:
    sentences: list[str] = []
    for part in _SENTENCE_END.split(line):
        if sentences and _ABBREVIATION.search(sentences[-1]):
            sentences[-1] = f"{sentences[-1]} {part.strip()}"
        elif part.strip():
            sentences.append(part.strip())
    return sentences


def _is_statement(sentence: str) -> bool:
    # A question in the policy ("Need a different size?") introduces an answer; it is not one.
    return (len(sentence) >= MIN_SENTENCE_CHARS and any(c.isalpha() for c in sentence)
            and not sentence.endswith("?"))


def pieces_of(text: str, continued: bool = False) -> list[Piece]:
    """The passage's pieces in reading order; incomplete ones (see the module doc) left out.

    `continued`: the passage may start inside a sentence (chunks overlap), so a first sentence
    that does not start like one ("30 days, defects are handled…") is a fragment, not a piece.
    """
    pieces: list[Piece] = []
    listing: Piece | None = None  # the piece that the next item lines belong to
    label: str | None = None  # a heading-like line just before (plain text and PDF keep them)
    for line in _logical_lines(text):
        if not line or _TABLE_RULE.match(line):
            continue  # a blank line may separate the items of a loose list
        if _ITEM.match(line) or line.startswith("|"):
            if listing is None or listing.plain_items:
                listing = Piece(intro=label)
                pieces.append(listing)
            listing.items.append(line)
            label = None
            continue
        label = line if _is_label(line) else None
        if _continues_plain_list(listing, line):
            listing.plain_items = True
            listing.items.append(line)
            continue
        listing = None
        sentences = [s for s in sentences_of(line) if _is_statement(s) or s.endswith(":")]
        pieces.extend(Piece(intro=s) for s in sentences)
        if sentences and sentences[-1].endswith(":"):
            listing = pieces[-1]
    if continued and pieces and pieces[0].intro and not _starts_like_a_sentence(pieces[0].intro):
        pieces.pop(0)
    return [piece for piece in pieces if piece.complete and piece.parts]


def _is_label(line: str) -> bool:
    """"What is not covered" before a list in a PDF: a heading the splitter did not see."""
    return len(line) <= MAX_LABEL_CHARS and not line.endswith((".", "!", "?", ":", ";", ","))


def _starts_like_a_sentence(text: str) -> bool:
    return text[:1].isupper() or text[:1] in "\"'(“["


def _logical_lines(text: str) -> list[str]:
    """Lines with wrapped ones joined: a line that starts in lower case continues the one above.

    PDF text and hard-wrapped files break sentences and list items across lines ("...counted from
    the original purchase" / "date shown on your receipt", "...returns policy. After" / "30 days").
    """
    lines: list[str] = []
    for raw in text.splitlines():
        line = _plain(raw)  # emphasis markers would hide sentence ends ("sign-off.** The limit")
        if line and lines and lines[-1] and _continues(lines[-1], line):
            lines[-1] = f"{lines[-1]} {line}"
        else:
            lines.append(line)
    return lines


def _continues(previous: str, line: str) -> bool:
    if line[0].islower():
        return True
    return line[0].isdigit() and not _ITEM.match(line) and not previous.endswith((".", "!", "?", ":"))


def _continues_plain_list(listing: Piece | None, line: str) -> bool:
    """An unmarked short line right after an introduction (or its other unmarked items)."""
    if listing is None or listing.intro is None or line.endswith(":"):
        return False
    if listing.items and not listing.plain_items:
        return False  # a marked list ends at the first unmarked line
    return len(line) <= MAX_PLAIN_ITEM_CHARS and len(listing.items) < MAX_PLAIN_ITEMS
