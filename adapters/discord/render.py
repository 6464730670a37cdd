"""Neutral answers and hand-overs -> Discord message text and button specs. Pure functions: the
one place text becomes Discord text.

Discord messages hold 2,000 characters. Long answers are split at paragraph, line, sentence and
word boundaries, in that order of preference, never inside a masked link or a mention
(adapters/textfit.py), and the numbered sources always follow the text (on the last message, or
on their own when they do not fit). Source links are masked links with the URL in angle
brackets, which Discord shows without an embed ("unfurl"); a list longer than one message ends
with "…and N more sources".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from adapters import textfit
from adapters.discord.convert import is_private, link_to
from adapters.discord.text import answer_text, customer_text, masked_link, no_mentions, user
from bot.answering.links import neutralise_links
from bot.knowledge.indexer import IndexSummary
from bot.types import Answer, Escalation, Source, Turn

LIMIT = 2000
FENCE = textfit.FENCE
QUOTE_TURN_CHARS = 300  # per transcript turn in the staff channel
TITLE_CHARS = 120  # a source's title in the list (the link itself is not shortened)
URL_CHARS = 500  # a longer address is not linked: it would crowd the other sources out
# Markup that must stay whole: masked links and <…> mentions, channels and bare links.
ATOMS = re.compile(r"\[[^\[\]\n]*\]\(<?[^()\s]*>?\)|<[^<>\s]*>")


@dataclass(frozen=True)
class ButtonSpec:
    action: str  # "human", "yes" or "no"; views.py turns it into a persistent button
    label: str
    style: str  # a discord.ButtonStyle name


def answer_buttons(answer: Answer) -> list[ButtonSpec]:
    """Feedback for real answers; "Talk to a human" first (and highlighted) when declined."""
    human = ButtonSpec("human", "Talk to a human", "primary" if answer.mode == "declined" else "secondary")
    buttons: list[ButtonSpec] = []
    if answer.mode == "declined":
        buttons.append(human)
    if answer.mode in ("generated", "extractive"):
        buttons += [ButtonSpec("yes", "Helpful", "success"), ButtonSpec("no", "Not helpful", "secondary")]
    if answer.offer_human and answer.mode != "declined":
        buttons.append(human)
    return buttons


# ----- answers -------------------------------------------------------------------------------

def render_answer(answer: Answer, limit: int = LIMIT) -> list[str]:
    """The messages to post, in order; every one within `limit` characters."""
    chunks = split_text(answer_text(answer.text, answer.sources).strip() or "…", limit)
    sources = render_sources(answer.sources)
    if sources:
        with_sources = f"{chunks[-1]}\n\n{sources}"
        if len(with_sources) <= limit:
            chunks[-1] = with_sources
        else:
            chunks += split_text(sources, limit)
    return chunks


def render_sources(sources: list[Source], limit: int = LIMIT) -> str:
    """The numbered list, within one message: lines that do not fit become "…and N more sources"."""
    if not sources:
        return ""
    lines = [source_line(s) for s in sorted(sources, key=lambda s: s.number)]
    return textfit.pack_lines("**Sources**", lines, limit, _more_sources)


def source_line(source: Source) -> str:
    """A numbered source: a link (no embed) when its address is a safe http(s) URL (links.py)."""
    title = _link_label(source.title + (f" › {source.heading}" if source.heading else ""))
    if len(source.url or "") <= URL_CHARS:
        return f"[{source.number}] {masked_link(title, source.url)}"
    return f"[{source.number}] {title}"


def _more_sources(count: int) -> str:
    return f"*…and {count} more source{'s' if count != 1 else ''}*"


def streaming_preview(text: str, limit: int = LIMIT) -> str:
    """What the message shows while the answer is still arriving."""
    cursor = " …"
    text = textfit.truncate(answer_text(text), limit - len(cursor), ATOMS, ellipsis="")
    if text.count(FENCE) % 2:
        text = textfit.truncate(text, limit - len(cursor) - 4, ATOMS, ellipsis="") + "\n" + FENCE
    return (text or "…") + cursor


def split_text(text: str, limit: int = LIMIT) -> list[str]:
    """`text` in pieces of at most `limit` characters, cut at the best boundary available and
    never inside a link or mention. A code block cut in two is closed and reopened."""
    return textfit.split(text, limit, ATOMS) or ["…"]


# ----- hand-over -----------------------------------------------------------------------------

def escalation_report(escalation: Escalation, support_role_id: int | None, limit: int = LIMIT) -> str:
    """The staff channel's message: who, where (a link), the question and the transcript."""
    conversation = escalation.conversation
    mention = f"<@&{support_role_id}> " if support_role_id else ""
    if is_private(conversation):
        where = f"asked privately with /ask in <{link_to(conversation)}>"
    else:
        where = f"[open the conversation](<{link_to(conversation)}>)"
    head = [f"{mention}**Hand-over requested** by {user(escalation.requested_by)} · {where}"]
    if escalation.question:
        head.append(f"**Question:** {_shorten(customer_text(escalation.question), QUOTE_TURN_CHARS)}")
    tail = f"-# escalation {escalation.escalation_id}"
    turns = [_quote(turn) for turn in escalation.transcript]
    # Drop the oldest turns until the message fits; the newest matter most.
    while turns:
        body = "\n".join([*head, "**Transcript**", *turns, tail])
        if len(body) <= limit:
            return body
        turns.pop(0)
    return _shorten("\n".join([*head, tail]), limit)


def _quote(turn: Turn) -> str:
    who = "Customer" if turn.role == "user" else "Bot"
    text = _shorten(customer_text(turn.text), QUOTE_TURN_CHARS)  # the bot's words are quoted as inertly
    return f"> **{who}:** {text}"


def resolved_report(report: str, resolved_by: str, limit: int = LIMIT) -> str:
    note = f"\n✅ Resolved by {user(resolved_by)}"
    return _shorten(report, limit - len(note)) + note


def resolved_notice(resolved_by: str) -> str:
    return (f"{user(resolved_by)} marked this conversation resolved. I'm answering here again: "
            "just write your question.")


def already_escalated_notice() -> str:
    return "This conversation is already with our support team; a person will reply here."


# ----- /reindex ------------------------------------------------------------------------------

_STAGES = {"load": "Reading documents", "split": "Splitting changed documents", "embed": "Embedding passages"}


def progress_text(stage: str, done: int, total: int) -> str:
    return f"⏳ {_STAGES.get(stage, stage)}: {done:,} of {total:,}"


def summary_text(summary: IndexSummary) -> str:
    lines = [
        f"✅ Reindex finished in {summary.seconds:.1f} s: generation {summary.generation}"
        + (" (full rebuild)" if summary.full else ""),
        f"Documents: {summary.added} added, {summary.updated} updated, {summary.unchanged} unchanged, "
        f"{summary.deleted} deleted ({summary.documents_total} in total)",
        f"Passages embedded: {summary.chunks_embedded} of {summary.chunks_total}",
    ]
    if summary.errors:
        lines.append(f"⚠️ {len(summary.errors)} document(s) could not be read and kept their old text:")
        lines += [f"- {_shorten(customer_text(str(error)), 200)}" for error in summary.errors[:10]]
    return _shorten("\n".join(lines), LIMIT)


# ----- small helpers -------------------------------------------------------------------------

def _shorten(text: str, limit: int) -> str:
    return textfit.truncate(text, limit, ATOMS)


def _link_label(title: str) -> str:
    """Square brackets would end a masked link's label early; long titles are shortened."""
    return _shorten(no_mentions(neutralise_links(title)).replace("[", "(").replace("]", ")"), TITLE_CHARS) or "Source"
