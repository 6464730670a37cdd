"""Hidden content out of policy documents before they are indexed.

What a reader of the published page cannot see must not reach the model either: a Markdown
`<!-- comment -->` or a `<div hidden>` is the classic place to plant instructions for a bot.
Removed, in HTML and in HTML embedded in Markdown:
- comments, and `<script>`, `<style>`, `<template>` (never shown as text);
- elements with the `hidden` attribute, `aria-hidden="true"`, or an inline style that hides
  them (`display:none`, `visibility:hidden`, `opacity:0`, `font-size:0`).
`aria-hidden="true"` is removed too: it marks what assistive technology must skip (decorative
icons, visual duplicates of text that is also given in readable form), and the bot reads a page
the way a screen reader does. Screen-reader-only text (`.sr-only`) is kept: it is meant to be read.

Every scan is linear in the text's length (no backtracking regex over untrusted text).
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, Comment

NEVER_TEXT = ("script", "style", "template")
_HIDING_STYLE = re.compile(
    r"(?:^|;)\s*(?:display\s*:\s*none|visibility\s*:\s*hidden|opacity\s*:\s*0(?:\.0+)?\s*(?:!important)?\s*(?:;|$)"
    r"|font-size\s*:\s*0(?:px|em|rem|%)?\s*(?:!important)?\s*(?:;|$))",
    re.IGNORECASE,
)
# One tag at a time: "<name attrs>", "</name>", "<name/>"; attributes cannot contain "<" or ">".
_TAG = re.compile(r"<(/?)([A-Za-z][\w:-]{0,40})((?:\"[^\"<>]*\"|'[^'<>]*'|[^'\"<>])*)>")
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
_ATTRIBUTE = re.compile(r"""([\w:-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")


def hides(name: str, attributes: dict[str, str]) -> bool:
    """Whether an element with this tag name and these attributes is never shown as text."""
    if name.lower() in NEVER_TEXT or "hidden" in attributes:
        return True
    if attributes.get("aria-hidden", "").strip().lower() == "true":
        return True
    return bool(_HIDING_STYLE.search(attributes.get("style", "")))


def clean_html(soup: BeautifulSoup) -> BeautifulSoup:
    """Remove comments and hidden elements from a parsed page, in place; returns it."""
    for comment in soup.find_all(string=lambda text: isinstance(text, Comment)):
        comment.extract()
    for element in soup.find_all(True):
        if element.decomposed:  # inside an element removed a moment ago
            continue
        attributes = {key.lower(): " ".join(value) if isinstance(value, list) else str(value)
                      for key, value in element.attrs.items()}
        if hides(element.name, attributes):
            element.decompose()
    return soup


def strip_comments(text: str) -> str:
    """Markdown/HTML comments removed; an unclosed `<!--` hides the rest, as a browser does."""
    pieces, position = [], 0
    while (start := text.find("<!--", position)) != -1:
        pieces.append(text[position:start])
        end = text.find("-->", start + 4)
        if end == -1:
            return "".join(pieces)
        position = end + 3
    pieces.append(text[position:])
    return "".join(pieces)


def clean_markdown(text: str) -> str:
    """Comments and hidden HTML elements removed from Markdown; the Markdown itself untouched."""
    text = strip_comments(text)
    if "<" not in text:
        return text
    pieces, position = [], 0
    hidden_name, depth = "", 0  # inside a hidden element: its name and how deeply it nests
    for match in _TAG.finditer(text):
        closing, name, raw = match.group(1) == "/", match.group(2).lower(), match.group(3)
        if hidden_name:
            if name == hidden_name and not raw.rstrip().endswith("/"):
                depth += -1 if closing else 1
                if depth == 0:
                    hidden_name, position = "", match.end()
            continue
        if closing or name in _VOID or raw.rstrip().endswith("/"):
            continue
        if hides(name, _attributes(raw)):
            pieces.append(text[position:match.start()])
            hidden_name, depth = name, 1
    if hidden_name:  # never closed: hidden to the end, as a browser shows it
        return "".join(pieces)
    pieces.append(text[position:])
    return "".join(pieces)


def _attributes(raw: str) -> dict[str, str]:
    return {m.group(1).lower(): next((g for g in m.group(2, 3, 4) if g is not None), "")
            for m in _ATTRIBUTE.finditer(raw)}
