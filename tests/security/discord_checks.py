"""What a Discord client would render from the calls the fake received: mentions, links, embeds."""

from __future__ import annotations

import re
from typing import Any

from tests.adapters.discord.conftest import AGENT, CUSTOMER, SUPPORT_ROLE

OURS = {f"<@&{SUPPORT_ROLE}>", f"<@{CUSTOMER['id']}>", f"<@{AGENT['id']}>"}
CONVERSATION_LINK = "https://discord.com/channels/"
_MENTION = re.compile(r"<(?:@[!&]?\d+|#\d+|/[\w -]+:\d+)>")
_EVERYONE = re.compile(r"@(?:everyone|here)")
_MASKED = re.compile(r"(?<!\\)\[[^\[\]\n]*(?<!\\)\]\(\s*(<?)([^()\s<>]*)")
_CODE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]+`", re.S)
_ADDRESS = re.compile(r"(.)?(https?://[^\s<>)]*)")


def contents(calls) -> list[tuple[Any, dict, str]]:
    """(call, message body, content) for every message the bot sent or edited."""
    found = []
    for call in calls:
        body = call.json if isinstance(call.json, dict) else {}
        if "/callback" in call.route:
            body = body.get("data") or {}
        if isinstance(body.get("content"), str):
            found.append((call, body, body["content"]))
    return found


def problems(api, allowed_urls: set[str] = frozenset(), *, quoting: bool = False) -> list[str]:
    """Everything unsafe in what the fake received: a live mention not ours (or allowed by
    allowed_mentions beyond the support role), a masked link or a link not to a source, an
    address that would embed, NULs and lone surrogates. `quoting`: a customer's own addresses
    may be shown to staff, as `<url>` (visible, no embed)."""
    found = []
    for call, body, content in contents(api.calls):
        where = f"{call.method} {call.route}"
        if re.search("[\x00\ud800-\udfff]", content):
            found.append(f"{where}: NUL or lone surrogate")
        content = _CODE.sub(" ", content)  # Discord parses no mention or link inside code
        found += [f"{where}: live mention {m!r}" for m in _MENTION.findall(content) if m not in OURS]
        found += [f"{where}: live {m!r}" for m in _EVERYONE.findall(content)]
        found += [f"{where}: {p}" for p in _allowed_mentions_problems(body.get("allowed_mentions"))]
        for bracket, url in _MASKED.findall(content):
            if not bracket or not (url in allowed_urls or url.startswith(CONVERSATION_LINK)):
                found.append(f"{where}: masked link to {url[:60]!r}")
        for before, url in _ADDRESS.findall(content):
            if before != "<":
                found.append(f"{where}: address that embeds {url[:60]!r}")
            elif not (quoting or url in allowed_urls or url.startswith(CONVERSATION_LINK)):
                found.append(f"{where}: link to {url[:60]!r}")
        for line in content.splitlines() if quoting else ():
            if re.match(r"\s*(?:#{1,3} |-# (?!escalation [0-9a-f]{32}$)|> \*\*Bot:\*\* \$900)", line):
                found.append(f"{where}: forged line {line[:60]!r}")
    return found


def _allowed_mentions_problems(allowed: dict | None) -> list[str]:
    if allowed is None:
        return ["no allowed_mentions: Discord would ping whatever the text names"]
    found = []
    if allowed.get("parse"):
        found.append(f"allowed_mentions.parse {allowed['parse']}")
    if allowed.get("users"):
        found.append(f"allowed_mentions.users {allowed['users']}")
    if [str(r) for r in allowed.get("roles") or []] not in ([], [str(SUPPORT_ROLE)]):
        found.append(f"allowed_mentions.roles {allowed['roles']}")
    if allowed.get("replied_user"):
        found.append("allowed_mentions.replied_user")
    return found


def shown(api) -> str:
    return "\n".join(content for _, _, content in contents(api.calls))
