"""Which links an answer may carry, decided once for both platforms.

Model replies and policy documents are untrusted text: a reply can hold a Markdown link whose
label says "Refund form" and whose address is anyone's, a bare URL, an autolink or an image. An
answer may link only to its own sources, so everything else is turned into plain text here,
before any platform renders it: a link keeps its label and loses its address, an image keeps its
alt text, a bare or angle-bracketed address is replaced by "(link removed)" (shown as text a
client would still turn it into a link). Code spans and code blocks are left alone: platforms
show their content literally.

Every pattern here runs in linear time on any input: character classes stop at the delimiter
they look for, and every open-ended repeat is bounded, so no input (say 40,000 characters of an
unclosed `<https://`) makes a match rescan the rest of the text from each position.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.types import Source

URL_CHARS = 2048  # longer addresses are not links we make
REMOVED = "(link removed)"
_SURROGATES_AND_NUL = re.compile("[\x00\ud800-\udfff]")
_SAFE_URL = re.compile(r"https?://[^\s<>|\[\]\"'`\\\x00-\x1f\x7f]{1,2040}", re.I)
_MARKUP = re.compile(
    r"(?P<fence>```(?s:.*?)(?:```|\Z))"  # a code block: to its closing fence or the end (never fails)
    r"|(?P<code>`[^`\n]{1,2000}`)"
    r"|(?P<image>!\[(?P<alt>[^\[\]\n]{0,500})\]\([^()\n]{0,2100}\))"
    r"|(?P<link>\[(?P<label>[^\[\]\n]{0,500})\]\(\s{0,10}<?"
    r"(?P<href>[^()<>\s]{0,2100}(?:\([^()<>\s]{0,200}\)[^()<>\s]{0,200})?)>?"
    r"(?:\s{1,10}\"[^\"\n]{0,300}\")?\s{0,10}\))"
    r"|(?P<auto><[a-zA-Z][a-zA-Z0-9+.-]{0,30}:[^<>\s]{0,2100}>)"
    r"|(?P<bare>\b(?:[a-zA-Z][a-zA-Z0-9+.-]{0,30}://|www\.)[^\s<>()\[\]\"'`]{0,2100})"
    r"|(?P<opener>\]\()",  # `](` left over (nested brackets, an unclosed link): never a link
)
_TRAILING = ".,;:!?*_~"  # sentence punctuation after a bare address is not part of it
_CITATION_LABEL = re.compile(r"\d{1,3}")


def scrub(text: str) -> str:
    """NUL and lone surrogates replaced by U+FFFD before any rendering: a NUL confused the
    renderers' own placeholders, and a lone surrogate cannot be encoded, so the platform (or
    its library) drops the whole message."""
    return _SURROGATES_AND_NUL.sub("\ufffd", text)


def safe_url(url: str | None) -> str:
    """`url` if it is an http(s) address that cannot break out of a link on any platform (no
    whitespace, no `< > |`, quotes or controls, at most URL_CHARS), else "": the caller shows
    the title without a link. Sources are checked when indexed too; this is the last line."""
    url = (url or "").strip()
    return url if len(url) <= URL_CHARS and _SAFE_URL.fullmatch(url) else ""


def source_urls(sources: Iterable[Source]) -> frozenset[str]:
    """The addresses an answer may link to: its own sources' (safe ones only)."""
    return frozenset(url for s in sources if (url := safe_url(s.url)))


def neutralise_links(markdown: str, allowed: frozenset[str] | set[str] = frozenset()) -> str:
    """`markdown` (scrubbed) with every link, image and address that is not one of `allowed`
    made plain text. Allowed ones come out in one form, `[label](url)`, for the renderers."""
    out: list[str] = []
    position = 0
    text = scrub(markdown)
    for match in _MARKUP.finditer(text):
        out.append(text[position:match.start()])
        out.append(_replacement(match, allowed))
        position = match.end()
    out.append(text[position:])
    return "".join(out)


def _replacement(match: re.Match[str], allowed: frozenset[str] | set[str]) -> str:
    kind = match.lastgroup
    if kind in ("fence", "code"):
        return match.group(0)
    if kind == "opener":
        return "] ("
    if kind == "image":  # never shown inline: its alt text, as text
        return neutralise_links(match.group("alt"), allowed=frozenset())
    if kind == "link":
        label, href = match.group("label"), match.group("href")
        if href in allowed and label.strip():
            return f"[{_label(label)}]({href})"
        if _CITATION_LABEL.fullmatch(label.strip()):
            return f"[{label.strip()}]"  # `[1](https://…)`: a citation marker, linked by the renderer
        return neutralise_links(label, allowed=frozenset()) or REMOVED
    address = match.group(0)
    if kind == "auto":
        address = address[1:-1]
        tail = ""
    else:
        stripped = address.rstrip(_TRAILING)
        address, tail = stripped, address[len(stripped):]
    if address in allowed:
        return f"[{address}]({address}){tail}"
    return REMOVED + tail


def _label(label: str) -> str:
    """A kept link's label, without addresses of its own (they would look like the target)."""
    return neutralise_links(label, allowed=frozenset()).strip() or "link"
