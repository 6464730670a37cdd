"""The service's markdown -> Slack mrkdwn, as a pure function.

Slack's mrkdwn is not markdown: bold is *one star*, italics are _underscores_, links are
<url|label>, there are no headings, and &, < and > must be escaped or Slack reads them as markup.
Code spans and fences are copied untouched (only escaped), since markup inside code is literal.
Citation markers [n] become links to the cited source when it has a URL.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.types import Source

_FENCE = re.compile(r"```.*?(?:```|\Z)", re.S)
_CODE = re.compile(r"`[^`\n]+`")
_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^)\s]+)\)")
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_ITALIC_STAR = re.compile(r"(?<![*\w])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![*\w])")
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)
_BULLET = re.compile(r"^(\s*)[-*+]\s+", re.M)
_CITATION = re.compile(r"\[(\d{1,3})\]")
_PLACEHOLDER = re.compile("\x00(\\d+)\x00")


def escape(text: str) -> str:
    """Escape the three characters Slack treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(url: str, label: str) -> str:
    """A mrkdwn link; the label may not contain '|' or '>' (they would end it early)."""
    label = escape(label).replace("|", "¦")
    return f"<{url}|{label}>" if url else label


def to_mrkdwn(markdown: str, sources: Iterable[Source] = ()) -> str:
    urls = {s.number: s.url for s in sources if s.url}
    kept: list[str] = []  # finished mrkdwn pieces no later rule may touch

    def keep(piece: str) -> str:
        kept.append(piece)
        return f"\x00{len(kept) - 1}\x00"

    text = _FENCE.sub(lambda m: keep(escape(m.group(0))), markdown)
    text = _CODE.sub(lambda m: keep(escape(m.group(0))), text)
    text = _LINK.sub(lambda m: keep(link(m.group(2), _plain(m.group(1)))), text)
    text = _CITATION.sub(lambda m: keep(_citation(int(m.group(1)), urls)), text)
    text = escape(text)
    text = _HEADING.sub(lambda m: keep(f"*{_plain(m.group(1))}*"), text)
    text = _BOLD.sub(lambda m: keep(f"*{m.group(2)}*"), text)
    text = _ITALIC_STAR.sub(lambda m: f"_{m.group(1)}_", text)
    text = _STRIKE.sub(lambda m: f"~{m.group(1)}~", text)
    text = _BULLET.sub(lambda m: f"{m.group(1)}• ", text)
    # Pieces may hold other pieces (a link inside bold): restore until none is left.
    while _PLACEHOLDER.search(text):
        text = _PLACEHOLDER.sub(lambda m: kept[int(m.group(1))], text)
    return text


def _plain(text: str) -> str:
    """Label text without markdown emphasis (Slack shows it literally inside a link or bold)."""
    return re.sub(r"(\*\*|__|\*|_|~~)(.+?)\1", r"\2", text)


def _citation(number: int, urls: dict[int, str]) -> str:
    return f"<{urls[number]}|[{number}]>" if number in urls else f"[{number}]"
