"""Follow-ups made standalone, so retrieval and the cache see what the asker actually means.

"And after 30 days?" means nothing to a search engine; with the thread's earlier questions it
does. With a model configured the rewrite prompt does this; without one (or when the call fails)
the deterministic rewrite keeps the question and adds the thread's earlier user messages as
context: ``"and after 30 days? (earlier: Can I return an opened tent? / What about boots?)"``.

The context is always added when the thread has one, because the rewrite cannot tell a reply
("yes, I served before 1980") from a new topic by its words alone; the retriever weighs the two
parts (see retrieval.py), leaning on the context for messages that point back into the thread.
Keeping the context in the text also keeps the answer cache honest: the same words in two
threads are two different questions.
"""

from __future__ import annotations

import re

from bot.knowledge.keywords import keyword_tokens
from bot.types import Turn

# Every user message memory still holds (memory.max_turns bounds it); on the doc2dial dev set
# all remembered turns found the right page more often than the last two (0.91 against 0.86 in
# the top 5; README, "Quality and speed").
PREVIOUS_QUESTIONS = 4
CONTEXT_OPEN, CONTEXT_SEPARATOR, CONTEXT_CLOSE = " (earlier: ", " / ", ")"
# Messages that open as a reply ("yes, …", "ok", "and …") or point back into the thread ("that",
# "more", "you said"): their meaning lives in the thread, not in their own words.
_OPENS_AS_REPLY = (
    r"^\W*(and|but|or|also|so|then|what about|how about|what if|if|yes|yeah|yep|yup|no|nope|nah|"
    r"not|ok|okay|sure|right|correct|sorry|oh|ah|i see|great|good|thanks|thank you|alright|well|"
    r"hmm|actually|cool|perfect|understood|got it)\b"
)
_POINTS_BACK = (
    r"\b(it|its|it's|that|this|those|these|they|them|their|there|same|one|ones|else|instead|more|"
    r"other|others|another|further|again|too|you said|mentioned|above|previous)\b"
)
_REFERS_BACK = re.compile(f"{_OPENS_AS_REPLY}|{_POINTS_BACK}", re.IGNORECASE)
# A message this short in content words ("tell me", "why?") cannot stand on its own.
SHORT_MESSAGE_WORDS = 2


def is_follow_up(question: str) -> bool:
    """Whether a message leans on the thread for its meaning (by its words: no model needed)."""
    return bool(_REFERS_BACK.search(question)) or len(keyword_tokens(question)) <= SHORT_MESSAGE_WORDS


def deterministic_standalone(question: str, history: list[Turn]) -> str:
    earlier = [turn.text.strip() for turn in history if turn.role == "user" and turn.text.strip()]
    return compose_standalone(question.strip(), earlier[-PREVIOUS_QUESTIONS:])


def compose_standalone(question: str, earlier: list[str]) -> str:
    if not earlier:
        return question
    flat = [" ".join(text.split()) for text in earlier]  # one line each, so the form can be split
    return question + CONTEXT_OPEN + CONTEXT_SEPARATOR.join(flat) + CONTEXT_CLOSE


def split_standalone(standalone: str) -> tuple[str, list[str]]:
    """The question and the earlier messages that compose_standalone() joined (or none)."""
    if not standalone.endswith(CONTEXT_CLOSE) or CONTEXT_OPEN not in standalone:
        return standalone, []
    question, _, context = standalone[: -len(CONTEXT_CLOSE)].rpartition(CONTEXT_OPEN)
    if not question.strip():
        return standalone, []
    return question, [part for part in context.split(CONTEXT_SEPARATOR) if part.strip()]


def history_text(history: list[Turn]) -> str:
    if not history:
        return "(none)"
    speaker = {"user": "Customer", "assistant": "Assistant"}
    return "\n".join(f"{speaker.get(t.role, t.role)}: {t.text}" for t in history)
