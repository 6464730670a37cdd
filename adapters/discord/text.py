"""Untrusted text -> Discord text: the one place customer words, model replies and document
titles become message content.

- Answers (model text): links only to the answer's own sources (bot/answering/links.py), written
  as `[label](<url>)` so Discord shows no embed; mentions made inert.
- Anything quoting a customer (the staff hand-over): on one line (a newline cannot forge a
  `> **Bot:**` line), Markdown escaped (a masked link `[Refund](https://…)` shows as typed), each
  address shown whole in `<…>` (visible, no embed), mentions made inert.
- Mentions are inert twice over: `@everyone`, `@here`, `<@id>`, `<@&id>`, `<#id>` get a zero-width
  space that stops Discord parsing them, and every message is sent with an allow-list of
  mentions (delivery.QUIET, or only the support role for a hand-over).

NUL and lone surrogates are replaced first (a lone surrogate made Discord drop the message). Every
pattern runs in linear time: bounded repeats, classes that stop at their delimiter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.answering.links import neutralise_links, safe_url, scrub, source_urls
from bot.types import Source

ZWSP = "\u200b"
_EVERYONE = re.compile(r"@(everyone|here)")
_MENTION = re.compile(r"<(?=[@#/][!&]?[\w:-]{0,100}>)")  # <@id>, <@!id>, <@&id>, <#id>, </command:id>
_KEPT_LINK = re.compile(r"\[([^\[\]\n]{1,500})\]\((https?://[^()\s<>]{1,2100})\)")
_CODE = re.compile(r"```(?s:.*?)(?:```|\Z)|`[^`\n]{1,2000}`")
_ADDRESS = re.compile(r"\b(?:https?://|www\.)[^\s<>]{1,2100}")
_MARKDOWN = re.compile(r"([\\*_~|`\[\]<>])")  # mid-line, so line-start markers (>, #, -) cannot apply
_SNOWFLAKE = re.compile(r"\d{1,25}")


def no_mentions(text: str) -> str:
    """Mentions shown as text, never parsed: a zero-width space after `@` or `<`."""
    return _MENTION.sub("<" + ZWSP, _EVERYONE.sub("@" + ZWSP + r"\1", text))


def answer_text(markdown: str, sources: Iterable[Source] = ()) -> str:
    """Model markdown for Discord: links only to `sources` (no embeds), mentions inert; code
    spans and blocks are left as written (Discord parses nothing inside them)."""
    allowed = source_urls(sources)
    text = neutralise_links(markdown, allowed)
    out, position = [], 0
    for code in _CODE.finditer(text):
        out.append(_answer_prose(text[position:code.start()], allowed))
        out.append(code.group(0))
        position = code.end()
    out.append(_answer_prose(text[position:], allowed))
    return "".join(out)


def _answer_prose(text: str, allowed: frozenset[str]) -> str:
    return _KEPT_LINK.sub(lambda m: _kept_link(m.group(1), m.group(2), allowed), no_mentions(text))


def _kept_link(label: str, url: str, allowed: frozenset[str]) -> str:
    if url not in allowed:
        return label
    # A bare source address stays visible: <url> is a link without an embed.
    return f"<{safe_url(url)}>" if label == url and safe_url(url) else masked_link(label, url)


def masked_link(label: str, url: str) -> str:
    """`[label](<url>)` for a safe http(s) address (no embed), else the label alone."""
    label = no_mentions(neutralise_links(label)).replace("[", "(").replace("]", ")") or "link"
    url = safe_url(url).replace(")", "%29")
    return f"[{label}](<{url}>)" if url else label


def customer_text(text: str) -> str:
    """A customer's (or a quoted reply's) words on one line, Markdown escaped, addresses visible
    in `<…>`, mentions inert: shown exactly as typed, formatting nothing."""
    text = " ".join(scrub(text).split())
    out, position = [], 0
    for address in _ADDRESS.finditer(text):
        out.append(_escape(text[position:address.start()]))
        out.append(f"<{address.group(0)}>")
        position = address.end()
    out.append(_escape(text[position:]))
    return "".join(out)


def _escape(text: str) -> str:
    return no_mentions(_MARKDOWN.sub(r"\\\1", text))


def user(user_id: str) -> str:
    """A mention of a Discord user id our code got from Discord; anything else as text."""
    return f"<@{user_id}>" if _SNOWFLAKE.fullmatch(user_id or "") else customer_text(user_id or "someone")
