"""Untrusted text as data in the model's prompt, and the model's NO_ANSWER signal read robustly.

Policy passages, the asker's question and the thread's history all come from people the bot
cannot vouch for. They go to the model inside XML-style tags (as Anthropic recommends for
documents), with `& < >` escaped so that no text can close its tag or open another one, and
with every line break inside a title or heading removed so that a title cannot start a line of
its own. A passage's number lives only in its tag's attribute: a `[2]` written inside a passage
is turned into `(2)`, so a document cannot pass itself off as another source. system.md tells
the model that tagged text is data, never instructions.
"""

from __future__ import annotations

import re

from bot.answering.citations import NumberedPassages
from bot.types import Turn

NO_ANSWER = "NO_ANSWER"  # the model's way to say the passages do not answer (see system.md)

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_ATTRIBUTE_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})
# "[3]", "[ 3 ]", "[1, 2]": what a source label or citation looks like (citations.MARKER's shape).
_LABEL_LIKE = re.compile(r"\[(\s*\d+(?:\s*[,;]\s*\d+)*\s*)\]")


def escape_data(text: str) -> str:
    """Text for inside a tag: it can neither close the tag nor open another one."""
    return text.translate(_ESCAPES)


def _attribute(text: str) -> str:
    """A one-line attribute value: line breaks and runs of spaces become one space."""
    return " ".join(text.split()).translate(_ATTRIBUTE_ESCAPES)


def passages_block(passages: NumberedPassages) -> str:
    """The numbered passages as `<passage number=… title=… section=…>` elements in `<passages>`."""
    blocks = []
    for number, hit in passages.hits:
        chunk = hit.chunk
        body = _LABEL_LIKE.sub(lambda match: f"({match.group(1).strip()})", chunk.text)
        blocks.append(f'<passage number="{number}" title="{_attribute(chunk.title)}" '
                      f'section="{_attribute(chunk.heading)}">\n{escape_data(body.strip())}\n</passage>')
    return "<passages>\n" + "\n".join(blocks) + "\n</passages>"


def question_block(question: str) -> str:
    return f"<question>\n{escape_data(question.strip())}\n</question>"


def history_block(history: list[Turn]) -> str:
    """One `<message from=customer|assistant>` per turn; `<history>(none)</history>` when empty."""
    if not history:
        return "<history>(none)</history>"
    speaker = {"user": "customer", "assistant": "assistant"}
    lines = [f'<message from="{speaker.get(turn.role, "customer")}">{escape_data(turn.text.strip())}</message>'
             for turn in history]
    return "<history>\n" + "\n".join(lines) + "\n</history>"


# Leading noise a model puts around the signal: spaces, quotes, Markdown emphasis, code ticks, a
# quote marker. The signal itself in any case, with a space, underscore or hyphen (or nothing)
# between the words: NO_ANSWER, no_answer, "No answer.", **NO-ANSWER**, `NOANSWER`.
_LEAD = re.compile(r"[\s\"'`*_~>“”‘’«»]*")
_SIGNAL_AT_START = re.compile(r"no[\s_\-]*answer(?![a-z])", re.IGNORECASE)
# The signal on a line of its own, or ending the reply (after an apology, say): a decline too.
_NOISE = r"[\s\"'`*_~>“”‘’«».!]*"
_LINE_NOISE = r"[ \t\"'`*_~>“”‘’«».!]*"  # no line breaks: each line is scanned once
_SIGNAL_LINE = re.compile(rf"^{_LINE_NOISE}no[ \t_\-]*answer{_LINE_NOISE}$", re.IGNORECASE | re.MULTILINE)
_TOKEN_AT_END = re.compile(rf"\bNO[_ ]?ANSWER{_NOISE}\Z")


def is_no_answer(text: str) -> bool:
    """Whether a model reply is the decline signal (then the asker gets decline.md, no sources)."""
    rest = text[_LEAD.match(text).end():]
    return bool(_SIGNAL_AT_START.match(rest) or _SIGNAL_LINE.search(text) or _TOKEN_AT_END.search(text))


def may_become_no_answer(text: str) -> bool:
    """While streaming: whether the text so far could still turn out to be the decline signal,
    so it must be held back rather than shown."""
    rest = text[_LEAD.match(text).end():]
    words = re.sub(r"[\s_\-]+", " ", rest.lower())
    compact = words.replace(" ", "")
    return "no answer".startswith(words) or "noanswer".startswith(compact) or is_no_answer(text)
