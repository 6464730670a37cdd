"""What a Slack client would render from the calls the fake received: live markup, links, text."""

from __future__ import annotations

import re
from typing import Any

from tests.adapters.slack.harness import AGENT, ASKER
from tests.fakes.slack_api import FakeSlack

# Markup our own code writes: the support group mention, mentions of the people involved.
OURS = {"!subteam^S0SUPPORT", f"@{ASKER}", f"@{AGENT}"}
PERMALINK = "https://test.slack.com/archives/"
_MARKUP = re.compile(r"<([^<>]*)>")
_MD_LINK = re.compile(r"\]\(\s*<?([^()\s<>]*)")
_BARE = re.compile(r"(?:https?://|www\.)[^\s<>|)`]*")


def texts(call_args: dict[str, Any]) -> list[tuple[str, str]]:
    """(kind, text) for everything a message shows: top-level text, mrkdwn objects, stream text."""
    found = [("text", call_args["text"])] if isinstance(call_args.get("text"), str) else []
    if isinstance(call_args.get("markdown_text"), str):
        found.append(("markdown", call_args["markdown_text"]))
    found += [("markdown", c.get("text", "")) for c in call_args.get("chunks") or [] if isinstance(c, dict)]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str):
                found.append((node["type"], node["text"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(call_args.get("blocks"))
    return found


def problems(slack: FakeSlack, allowed_urls: set[str] = frozenset(), *, quoting: bool = False) -> list[str]:
    """Everything unsafe the fake received: live markup not ours, links not to a source, NULs
    and lone surrogates, mrkdwn that Slack would parse itself (not verbatim). `quoting`: staff
    see a customer's addresses as escaped text (never as links), so those are not counted."""
    found = []
    for call in slack.calls():
        for kind, text in texts(call.args):
            found += [f"{call.method} {kind}: {p}" for p in _text_problems(kind, text, allowed_urls)
                      if not (quoting and p.startswith("address as text"))]
        for node in _mrkdwn_objects(call.args.get("blocks")):
            if node.get("verbatim") is not True:
                found.append(f"{call.method}: mrkdwn without verbatim: {node['text'][:60]!r}")
    return found


def _text_problems(kind: str, text: str, allowed_urls: set[str]) -> list[str]:
    found = []
    if re.search("[\x00\ud800-\udfff]", text):
        found.append("NUL or lone surrogate")
    if kind == "plain_text":
        return found  # Slack parses no markup in plain_text objects
    rest = text
    for match in _MARKUP.finditer(text):
        inner = match.group(1)
        target = inner.split("|", 1)[0].replace("&amp;", "&")
        if inner in OURS or target in allowed_urls or target.startswith(PERMALINK):
            rest = rest.replace(match.group(0), " ", 1)
            continue
        found.append(f"live markup {match.group(0)[:80]!r}")
    if kind == "markdown":  # stream text is markdown: a link there would be live
        found += [f"markdown link to {url[:60]!r}" for url in _MD_LINK.findall(text) if url not in allowed_urls]
    found += [f"address as text {url[:60]!r}" for url in _BARE.findall(rest) if url not in allowed_urls]
    return found


def _mrkdwn_objects(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        own = [node] if node.get("type") == "mrkdwn" else []
        return own + [o for value in node.values() for o in _mrkdwn_objects(value)]
    if isinstance(node, list):
        return [o for value in node for o in _mrkdwn_objects(value)]
    return []


def shown_text(slack: FakeSlack) -> str:
    """Everything the bot's messages say, joined: for checks that words were kept."""
    return "\n".join(text for call in slack.calls() for _, text in texts(call.args))
