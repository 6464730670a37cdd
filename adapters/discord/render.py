"""Neutral answers and hand-overs -> Discord message text and button specs. Pure functions.

Discord messages hold 2,000 characters. Long answers are split at paragraph, line, sentence and
word boundaries, in that order of preference, and the numbered sources always follow the text
(on the last message, or on their own when they do not fit). Source links are masked links with
the URL in angle brackets, which Discord shows without an embed ("unfurl").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from adapters.discord.convert import is_private, link_to
from bot.knowledge.indexer import IndexSummary
from bot.types import Answer, Escalation, Source, Turn

LIMIT = 2000
FENCE = "```"
QUOTE_TURN_CHARS = 300  # per transcript turn in the staff channel
# Preferred split points, best first: paragraphs, lines, sentence ends, any whitespace.
_SEPARATORS = (r"\n[ \t]*\n", r"\n", r"(?<=[.!?;:])[ \t]+", r"[ \t]+")


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
    chunks = split_text(answer.text.strip() or "…", limit)
    sources = render_sources(answer.sources)
    if sources:
        with_sources = f"{chunks[-1]}\n\n{sources}"
        if len(with_sources) <= limit:
            chunks[-1] = with_sources
        else:
            chunks += split_text(sources, limit)
    return chunks


def render_sources(sources: list[Source]) -> str:
    if not sources:
        return ""
    lines = ["**Sources**"]
    for source in sorted(sources, key=lambda s: s.number):
        title = _link_label(source.title + (f" › {source.heading}" if source.heading else ""))
        if re.match(r"https?://\S+$", source.url or ""):
            lines.append(f"[{source.number}] [{title}](<{source.url.replace('>', '%3E')}>)")
        else:
            lines.append(f"[{source.number}] {title}")
    return "\n".join(lines)


def streaming_preview(text: str, limit: int = LIMIT) -> str:
    """What the message shows while the answer is still arriving."""
    cursor = " …"
    text = text.strip()
    if len(text) + len(cursor) > limit:
        text = text[: limit - len(cursor)].rsplit(" ", 1)[0]
    if text.count(FENCE) % 2:
        text = _shorten(text, limit - len(cursor) - 4) + "\n" + FENCE
    return text + cursor


def split_text(text: str, limit: int = LIMIT) -> list[str]:
    """`text` in pieces of at most `limit` characters, cut at the best boundary available.
    A code block cut in two is closed and reopened, so both halves render as code."""
    if len(text) <= limit:
        return [text]
    # Leave room for a closing fence and a reopening one with its language name.
    room = limit - 32 if FENCE in text else limit
    return _balance_fences(_split(text, room, _SEPARATORS))


def _split(text: str, limit: int, separators: tuple[str, ...]) -> list[str]:
    if len(text) <= limit:
        return [text]
    if not separators:
        return [text[i:i + limit] for i in range(0, len(text), limit)]
    parts = re.split(f"({separators[0]})", text)  # text, separator, text, ...
    pieces: list[str] = []
    current = ""
    for index in range(0, len(parts), 2):
        part = parts[index]
        glue = parts[index - 1] if index else ""
        if current and len(current) + len(glue) + len(part) <= limit:
            current += glue + part
            continue
        if current:
            pieces.append(current)
        if len(part) <= limit:
            current = part
        else:  # too long even alone: cut it at the next-best boundary
            *whole, current = _split(part, limit, separators[1:])
            pieces += whole
    if current:
        pieces.append(current)
    return [p.strip("\n") for p in pieces if p.strip()]


def _balance_fences(pieces: list[str]) -> list[str]:
    balanced: list[str] = []
    reopen = ""
    for piece in pieces:
        piece = reopen + piece
        if piece.count(FENCE) % 2:  # ends inside a code block
            language = re.findall(r"```(\w{0,20})", piece)[-1]
            balanced.append(piece + "\n" + FENCE)
            reopen = FENCE + language + "\n"
        else:
            balanced.append(piece)
            reopen = ""
    return balanced


# ----- hand-over -----------------------------------------------------------------------------

def escalation_report(escalation: Escalation, support_role_id: int | None, limit: int = LIMIT) -> str:
    """The staff channel's message: who, where (a link), the question and the transcript."""
    conversation = escalation.conversation
    mention = f"<@&{support_role_id}> " if support_role_id else ""
    if is_private(conversation):
        where = f"asked privately with /ask in <{link_to(conversation)}>"
    else:
        where = f"[open the conversation](<{link_to(conversation)}>)"
    head = [f"{mention}**Hand-over requested** by <@{escalation.requested_by}> · {where}"]
    if escalation.question:
        head.append(f"**Question:** {_shorten(escalation.question, QUOTE_TURN_CHARS)}")
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
    text = _shorten(" ".join(turn.text.split()), QUOTE_TURN_CHARS)
    return f"> **{who}:** {text}"


def resolved_report(report: str, resolved_by: str, limit: int = LIMIT) -> str:
    note = f"\n✅ Resolved by <@{resolved_by}>"
    return _shorten(report, limit - len(note)) + note


def resolved_notice(resolved_by: str) -> str:
    return (f"<@{resolved_by}> marked this conversation resolved. I'm answering here again: "
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
        lines += [f"- {_shorten(str(error), 200)}" for error in summary.errors[:10]]
    return _shorten("\n".join(lines), LIMIT)


# ----- small helpers -------------------------------------------------------------------------

def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _link_label(title: str) -> str:
    """Square brackets would end a masked link's label early."""
    return title.replace("[", "(").replace("]", ")").strip() or "Source"
