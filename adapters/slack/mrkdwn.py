"""Untrusted text -> Slack text, as pure functions: the one place text becomes Slack text.

Customer messages, model replies and policy documents are all untrusted. Everything from them is
escaped here (`&`, `<`, `>`: otherwise Slack reads `<!channel>`, `<@U…>` or `<https://…|label>` as
live markup), after NUL and lone surrogates are replaced; only markup this module writes itself
stays live: links to the answer's own sources (bot/answering/links.py decides which), and the
mentions our code adds. Text objects are sent `verbatim`, so Slack does not turn a typed
"@channel" or a bare address into a mention or a link either.

Slack's mrkdwn is not markdown: bold is *one star*, italics are _underscores_, links are
<url|label>, there are no headings. Code spans and fences are copied untouched (only escaped),
since markup inside code is literal. Citation markers [n] become links to the cited source when
it has a URL. Every pattern runs in linear time (bounded repeats, no backtracking on unclosed
markup).

Lengths are Slack's and are measured here, on the escaped text: `fit` shortens and `split` cuts
mrkdwn without halving an entity or a `<url|label>` link (see adapters/textfit.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from adapters import textfit
from bot.answering.links import neutralise_links, safe_url, scrub, source_urls
from bot.types import Source

# Markup that must stay whole: entities, and <…> links, mentions and dates.
ATOMS = re.compile(r"&(?:amp|lt|gt);|<[^<>\n]*>")
LABEL_CHARS = 150  # a link label, after escaping: long titles are shortened, not the message
URL_CHARS = 1000  # a longer address is not linked (it would crowd out the text around it)
# A [n] marker repeats its source's address each time it appears; a long one is left to the
# sources list below the answer, or a few citations would fill a section.
CITATION_URL_CHARS = 200

_FENCE = re.compile(r"```.*?(?:```|\Z)", re.S)
_CODE = re.compile(r"`[^`\n]{1,2000}`")
_LINK = re.compile(r"\[([^\[\]\n]{1,500})\]\((https?://[^()\s]{1,2100})\)")
# Emphasis spans are bounded: an unclosed `**` must not make every later one rescan the line.
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.{1,500}?)(?<=\S)\1")
_ITALIC_STAR = re.compile(r"(?<![*\w])\*(?=\S)([^*\n]{1,500}?)(?<=\S)\*(?![*\w])")
_STRIKE = re.compile(r"~~(?=\S)(.{1,500}?)(?<=\S)~~")
_HEADING = re.compile(r"^#{1,6}[ \t]+(\S[^\n]*)$", re.M)
_BULLET = re.compile(r"^([ \t]*)[-*+][ \t]+", re.M)
_CITATION = re.compile(r"\[(\d{1,3})\]")
_PLACEHOLDER = re.compile("\x00(\\d+)\x00")
_EMPHASIS = re.compile(r"(\*\*|__|\*|_|~~)([^\n]{1,500}?)\1")
_USER_ID = re.compile(r"[UW][A-Z0-9]{1,30}")


def escape(text: str) -> str:
    """Untrusted text as Slack text: NUL and lone surrogates replaced, and the three characters
    Slack treats as control characters escaped. Never undone: a customer's `&lt;!channel&gt;`
    arrives as `&amp;lt;…` and goes out the same way, as text."""
    return _escape_chars(scrub(text))


def _escape_chars(text: str) -> str:
    """Only the three characters (to_mrkdwn scrubs first: its placeholders hold NULs)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def inline(text: str, limit: int) -> str:
    """A customer's words on one line (a top-level `text`, a notification): escaped, whitespace
    collapsed, at most `limit` characters."""
    return fit(escape(" ".join(scrub(text).split())), limit)


def user(user_id: str) -> str:
    """A mention of a Slack user id our code got from Slack; anything else is shown as text."""
    return f"<@{user_id}>" if _USER_ID.fullmatch(user_id or "") else escape(user_id or "someone")


def link(url: str, label: str) -> str:
    """A mrkdwn link; the label may not contain '|' or '>' (they would end it early). A label is
    shortened to LABEL_CHARS; an address that is not a safe http(s) URL (bot/answering/links.py)
    or is longer than URL_CHARS is left out, keeping the label."""
    label = fit(escape(label).replace("|", "¦"), LABEL_CHARS)
    url = safe_url(url)
    return f"<{escape(url)}|{label}>" if url and len(url) <= URL_CHARS else label


def fit(text: str, limit: int) -> str:
    """Escaped mrkdwn shortened to `limit` characters, ending in "…", no entity or link cut."""
    return textfit.truncate(text, limit, ATOMS)


def split(text: str, limit: int) -> list[str]:
    """Escaped mrkdwn in pieces of at most `limit` characters, cut between paragraphs if possible."""
    return textfit.split(text, limit, ATOMS)


def to_mrkdwn(markdown: str, sources: Iterable[Source] = ()) -> str:
    """An answer's markdown as mrkdwn: links only to `sources`, everything else escaped text."""
    sources = list(sources)
    allowed = source_urls(sources)
    urls = {s.number: s.url for s in sources if s.url}
    kept: list[str] = []  # finished mrkdwn pieces no later rule may touch

    def keep(piece: str) -> str:
        kept.append(piece)
        return f"\x00{len(kept) - 1}\x00"

    # Scrubbed (no NUL is left in the text), so the only \x00n\x00 placeholders are keep()'s.
    text = neutralise_links(markdown, allowed)
    text = _FENCE.sub(lambda m: keep(_escape_chars(m.group(0))), text)
    text = _CODE.sub(lambda m: keep(_escape_chars(m.group(0))), text)
    text = _LINK.sub(lambda m: keep(link(m.group(2), _plain(m.group(1))) if m.group(2) in allowed
                                    else _escape_chars(_plain(m.group(1)))), text)
    text = _CITATION.sub(lambda m: keep(_citation(int(m.group(1)), urls)), text)
    text = _escape_chars(text)
    text = _HEADING.sub(lambda m: keep(f"*{_plain(m.group(1).rstrip(' #'))}*"), text)
    text = _BOLD.sub(lambda m: keep(f"*{m.group(2)}*"), text)
    text = _ITALIC_STAR.sub(lambda m: f"_{m.group(1)}_", text)
    text = _STRIKE.sub(lambda m: f"~{m.group(1)}~", text)
    text = _BULLET.sub(lambda m: f"{m.group(1)}• ", text)
    return _restore(text, kept)


def notification(markdown: str, limit: int) -> str:
    """An answer as the plain `text` beside its blocks (notifications, screen readers): no link
    at all (each keeps its label), escaped."""
    return fit(escape(neutralise_links(markdown)), limit)


def _restore(text: str, kept: list[str]) -> str:
    """Put the kept pieces back. Pieces may hold other pieces (a link inside bold), each nested
    in a later one, so len(kept) rounds always suffice: the bound makes a loop impossible."""
    for _ in range(len(kept) + 1):
        if not _PLACEHOLDER.search(text):
            break
        text = _PLACEHOLDER.sub(lambda m: kept[int(m.group(1))], text)
    return text


def _plain(text: str) -> str:
    """Label text without markdown emphasis (Slack shows it literally inside a link or bold)."""
    return _EMPHASIS.sub(r"\2", text)


def _citation(number: int, urls: dict[int, str]) -> str:
    url = urls.get(number, "")
    return link(url, f"[{number}]") if 0 < len(url) <= CITATION_URL_CHARS else f"[{number}]"
