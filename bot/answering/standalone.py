"""Follow-ups made standalone, so retrieval and the cache see what the asker actually means.

"And after 30 days?" means nothing to a search engine; with the thread's earlier questions it
does. With a model configured the rewrite prompt does this; without one (or when the call fails)
the deterministic rewrite appends the thread's previous user questions.
"""

from __future__ import annotations

import re

from bot.types import Turn

PREVIOUS_QUESTIONS = 2
# Words that point back into the thread; a message without them is taken to stand alone, so a new
# topic in an old thread is not mixed with the old one.
_REFERS_BACK = re.compile(
    r"^\s*(and|but|or|also|so|then|what about|how about|what if)\b"
    r"|\b(it|its|it's|that|this|those|these|they|them|their|there|same|one|ones|else|instead)\b",
    re.IGNORECASE,
)


def is_follow_up(question: str) -> bool:
    return bool(_REFERS_BACK.search(question))


def deterministic_standalone(question: str, history: list[Turn]) -> str:
    previous = [turn.text.strip() for turn in history if turn.role == "user"][-PREVIOUS_QUESTIONS:]
    if not previous or not is_follow_up(question):
        return question.strip()
    return f"{question.strip()} (earlier: {' / '.join(previous)})"


def history_text(history: list[Turn]) -> str:
    if not history:
        return "(none)"
    speaker = {"user": "Customer", "assistant": "Assistant"}
    return "\n".join(f"{speaker.get(t.role, t.role)}: {t.text}" for t in history)
