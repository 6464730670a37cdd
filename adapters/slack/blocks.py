"""Neutral values -> Block Kit, as pure functions (no client, no I/O): tested without a network.

Every message is built within Slack's limits, measured on the escaped text (the numbers are
Block Kit's; tests/fakes/rules/slack.json names their pages): a text object holds at most 3,000
characters, a message at most 50 blocks, a button label 75 characters and a button value 2,000.
Long answers are split between paragraphs into several sections, long source lists end with
"…and N more sources", and nothing is cut inside an entity or a link (adapters/slack/mrkdwn.py).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from adapters.slack.mrkdwn import escape, fit, inline, link, notification, split, to_mrkdwn, user
from adapters.textfit import pack_lines
from adapters.slack.refs import ThreadRef
from bot import buttons
from bot.knowledge.indexer import IndexSummary
from bot.types import Answer, Escalation, Source

Block = dict[str, Any]

TALK_TO_HUMAN = "talk_to_human"
HELPFUL = "feedback_helpful"
NOT_HELPFUL = "feedback_not_helpful"
MARK_RESOLVED = "mark_resolved"

PLACEHOLDER = ":hourglass_flowing_sand: Looking through our policies…"
SECTION_CHARS = 3000  # a text object (section, context element)
MAX_BLOCKS = 50
# Slack also refuses a message whose blocks hold about 13,000 characters in all (msg_blocks_too_long;
# seen in practice, not documented): an answer's text stops well short of that.
ANSWER_CHARS = 9000
QUESTION_CHARS = 2000  # a customer's question quoted in a hand-over
SHORTENED = "_(The answer is longer than one Slack message can hold; ask me about one part of it.)_"
STAGE_LABELS = {"load": "Reading documents", "split": "Splitting changed documents",
                "embed": "Embedding passages"}


# ----- answers ---------------------------------------------------------------------------------

def answer_blocks(answer: Answer, ref: ThreadRef) -> list[Block]:
    """The whole reply: the answer in mrkdwn, its sources, then the buttons."""
    footer = footer_blocks(answer, ref)
    return answer_text_blocks(to_mrkdwn(answer.text, answer.sources), room=MAX_BLOCKS - len(footer)) + footer


def answer_text_blocks(text: str, room: int = MAX_BLOCKS) -> list[Block]:
    """An answer's text as sections; one too long for a message is shortened, and says so."""
    sections = [b["text"]["text"] for b in text_sections(text)]
    if len(sections) <= room and sum(map(len, sections)) <= ANSWER_CHARS:
        return [section(piece) for piece in sections]
    kept: list[str] = []
    for piece in sections[: room - 1]:
        left = ANSWER_CHARS - sum(map(len, kept))
        if len(piece) > left:
            if left >= 200:
                kept.append(fit(piece, left))
            break
        kept.append(piece)
    return [section(piece) for piece in kept] + [section(SHORTENED)]


def footer_blocks(answer: Answer, ref: ThreadRef) -> list[Block]:
    """What follows the text: also the end of a streamed answer, whose text arrived already."""
    return sources_blocks(answer.sources) + action_blocks(answer, ref)


def notification_text(text: str) -> str:
    """The plain `text` Slack shows in notifications and screen readers next to the blocks:
    escaped, links reduced to their labels (mrkdwn.py)."""
    return notification(text, SECTION_CHARS)


def escalation_text(escalation: Escalation) -> str:
    """The hand-over's top-level `text`: the customer's question escaped, on one line."""
    return f"{user(escalation.requested_by)} asked for a person: {inline(escalation.question, 200)}"


def sources_blocks(sources: list[Source]) -> list[Block]:
    """The numbered sources in one context element: as many lines as fit in its 3,000 characters,
    then "…and N more sources" (the answer's own [n] links still reach every one)."""
    if not sources:
        return []
    lines = [source_line(s) for s in sorted(sources, key=lambda s: s.number)]
    return [{"type": "context", "elements": [mrkdwn(pack_lines("*Sources*", lines, SECTION_CHARS, _more_sources))]}]


def source_line(source: Source) -> str:
    heading = f" · {fit(escape(source.heading), 100)}" if source.heading else ""
    return f"{source.number}. {link(source.url, source.title)}{heading}"


def _more_sources(count: int) -> str:
    return f"_…and {count} more source{'s' if count != 1 else ''}_"


def action_blocks(answer: Answer, ref: ThreadRef) -> list[Block]:
    """Helpful / Not helpful / Talk to a human; a declined answer leads with the human."""
    ref = replace(ref, answer_id=answer.answer_id)
    declined = answer.mode == "declined"
    human = [button("Talk to a human", TALK_TO_HUMAN, ref.value(buttons.HUMAN), primary=declined)] if answer.offer_human else []
    feedback = ([button("Helpful", HELPFUL, ref.value(buttons.HELPFUL)),
                 button("Not helpful", NOT_HELPFUL, ref.value(buttons.NOT_HELPFUL))]
                if answer.mode in ("generated", "extractive", "declined") else [])
    elements = human + feedback if declined else feedback + human
    return [{"type": "actions", "block_id": "answer_actions", "elements": elements}] if elements else []


def apology_blocks(apology: str, ref: ThreadRef) -> list[Block]:
    """Something failed: say so, and still offer a person."""
    return [*text_sections(escape(apology)),
            {"type": "actions", "block_id": "apology_actions",
             "elements": [button("Talk to a human", TALK_TO_HUMAN, ref.value(buttons.HUMAN), primary=True)]}]


# ----- hand-over -------------------------------------------------------------------------------

def escalation_blocks(escalation: Escalation, *, permalink: str, support_mention: str,
                      resolve_value: str) -> list[Block]:
    """The staff channel's copy of a hand-over, with the button that gives the thread back
    (`resolve_value`: its sealed value, bot/buttons.py)."""
    answer = escalation.last_answer
    who = f"{support_mention} " if support_mention else ""
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": "A customer asked for a person"}},
        section(f"{who}{user(escalation.requested_by)} pressed *Talk to a human*."),
        section("*Question*\n" + quote(escalation.question or "(not recorded: open the thread)")),
    ]
    if answer is not None:
        title = "*The bot's answer*\n"
        blocks.append(section(title + fit(to_mrkdwn(answer.text, answer.sources), SECTION_CHARS - len(title))))
        blocks += sources_blocks(answer.sources)
    where = link(permalink, "Open the thread") if permalink else f"Thread {escalation.conversation.thread}"
    blocks.append({"type": "context", "elements": [mrkdwn(where)]})
    blocks.append({"type": "actions", "block_id": "escalation_actions", "elements": [
        button("Mark resolved", MARK_RESOLVED, resolve_value, primary=True)]})
    return blocks


def resolved_blocks(blocks: list[Block], resolved_by: str) -> list[Block]:
    """The staff message once resolved: the same, without the button, saying who resolved it."""
    kept = [b for b in blocks if b.get("type") != "actions"]
    return [*kept, {"type": "context", "elements": [mrkdwn(f":white_check_mark: Resolved by {user(resolved_by)}")]}]


def support_mention(group_or_user: str) -> str:
    """How to notify the support team: <!subteam^S…> for a user group, <@U…> for one person;
    nothing for a value that is not a Slack id (it would be markup of someone else's making)."""
    if re.fullmatch(r"S[A-Z0-9]{1,30}", group_or_user):
        return f"<!subteam^{group_or_user}>"
    if re.fullmatch(r"[UW][A-Z0-9]{1,30}", group_or_user):
        return user(group_or_user)
    return ""


# ----- /reindex --------------------------------------------------------------------------------

def reindex_progress_text(stage: str, done: int, total: int) -> str:
    return f":arrows_counterclockwise: Reindex: {STAGE_LABELS.get(stage, stage)} {done}/{total}"


def reindex_summary_text(summary: IndexSummary) -> str:
    lines = [
        f":white_check_mark: Reindex finished: generation {summary.generation}"
        + (" (full rebuild)" if summary.full else "") + f" in {summary.seconds:.1f} s.",
        f"Documents: {summary.added} added, {summary.updated} updated, {summary.unchanged} unchanged, "
        f"{summary.deleted} deleted ({summary.documents_total} in all).",
        f"Passages: {summary.chunks_embedded} embedded, {summary.chunks_total} in the index.",
    ]
    lines += [f":warning: Skipped {fit(escape(str(error)), 300)} (its previously indexed text is kept)"
              for error in summary.errors]
    return fit("\n".join(lines), SECTION_CHARS)


# ----- small builders --------------------------------------------------------------------------

def mrkdwn(text: str) -> Block:
    """A mrkdwn text object. `verbatim`: Slack adds no links or mentions of its own (a typed
    "@channel" or bare address stays text); the markup we wrote ourselves still works."""
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def section(text: str) -> Block:
    return {"type": "section", "text": mrkdwn(fit(text, SECTION_CHARS))}


def button(label: str, action_id: str, value: str, *, primary: bool = False) -> Block:
    element: Block = {"type": "button", "text": {"type": "plain_text", "text": clip(label, 75), "emoji": True},
                      "action_id": action_id, "value": value}
    if primary:
        element["style"] = "primary"
    return element


def text_sections(text: str) -> list[Block]:
    """Long text as several sections, split between paragraphs (or lines) where possible."""
    return [section(piece) for piece in split(text, SECTION_CHARS)]


def quote(text: str) -> str:
    """A customer's words as a block quote, escaped, at most QUESTION_CHARS once escaped."""
    quoted = "\n".join("> " + escape(line) for line in clip(text, QUESTION_CHARS).splitlines() or [""])
    return fit(quoted, QUESTION_CHARS)


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
