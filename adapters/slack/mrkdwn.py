"""The service's markdown -> Slack mrkdwn, as pure functions: the one place text becomes Slack text.

Slack's mrkdwn is not markdown: bold is *one star*, italics are _underscores_, links are
<url|label>, there are no headings, and &, < and > must be escaped or Slack reads them as markup.
Code spans and fences are copied untouched (only escaped), since markup inside code is literal.
Citation markers [n] become links to the cited source when it has a URL.

Lengths are Slack's and are measured here, on the escaped text: `fit` shortens and `split` cuts
mrkdwn without halving an entity or a `<url|label>` link (see adapters/textfit.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from adapters import textfit
from bot.types import Source

# Markup that must stay whole: entities, and <…> links, mentions and dates.
ATOMS = re.compile(r"&(?:amp|lt|gt);|<[^<>\n]*>")
LABEL_CHARS = 150  # a link label, after escaping: long titles are shortened, not the message
URL_CHARS = 1000  # a longer address is not linked (it would crowd out the text around it)
# A [n] marker repeats its source's address each time it appears; a long one is left to the
# sources list below the answer, or a few citations would fill a section.
CITATION_URL_CHARS = 200

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
_URL_BREAKERS = re.compile(r"[\s<>|]")  # characters that would end a <url|label> early


def escape(text: str) -> str:
    """Escape the three characters Slack treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(url: str, label: str) -> str:
    """A mrkdwn link; the label may not contain '|' or '>' (they would end it early). A label is
    shortened to LABEL_CHARS; an address longer than URL_CHARS is left out, keeping the label."""
    label = fit(escape(label).replace("|", "¦"), LABEL_CHARS)
    return f"<{url}|{label}>" if url and len(url) <= URL_CHARS and not _URL_BREAKERS.search(url) else label


def fit(text: str, limit: int) -> str:
    """Escaped mrkdwn shortened to `limit` characters, ending in "…", no entity or link cut."""
    return textfit.truncate(text, limit, ATOMS)


def split(text: str, limit: int) -> list[str]:
    """Escaped mrkdwn in pieces of at most `limit` characters, cut between paragraphs if possible."""
    return textfit.split(text, limit, ATOMS)


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
    url = urls.get(number, "")
    return link(url, f"[{number}]") if 0 < len(url) <= CITATION_URL_CHARS else f"[{number}]"
