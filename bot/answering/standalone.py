"""Follow-ups made standalone, so retrieval and the cache see what the asker actually means.

"And after 30 days?" means nothing to a search engine; with the thread's earlier questions it
does. With a model configured the rewrite prompt does this; without one (or when the call fails)
the deterministic rewrite keeps the question and adds the thread's earlier user messages as
context: ``"and after 30 days? (earlier: Can I return an opened tent? / What about boots?)"``.

The assistant's last message, when the thread ends with one, joins the context too (its start:
see last_reply), so a reply to it ("yes, that one") searches with the words it answers.

The context is always added when the thread has one, because the rewrite cannot tell a reply
("yes, I served before 1980") from a new topic by its words alone; the retriever weighs the two
parts (see retrieval.py), leaning on the context for messages that point back into the thread.
Keeping the context in the text also keeps the answer cache honest: the same words in two
threads are two different questions.

A follow-up that keeps the question but names a new object ("and what about sale items?",
"what about Canada?", "same for gift cards?") is rewritten into the earlier question with its
object replaced: "Can I return sale items after 30 days?". Otherwise the thread's context,
which is all about the old object, would find the old answer again.
"""

from __future__ import annotations

import re

from bot.answering.stray_marks import without_stray_marks
from bot.knowledge.keywords import STOPWORDS, keyword_tokens
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
REPLY_CONTEXT_CHARS = 300  # of the assistant's last message, kept in the context (last_reply)


def is_follow_up(question: str) -> bool:
    """Whether a message leans on the thread for its meaning (by its words: no model needed)."""
    return bool(_REFERS_BACK.search(question)) or len(keyword_tokens(question)) <= SHORT_MESSAGE_WORDS


# "and what about X?", "how about X", "same for X?", "what if it's X?": X replaces the old object.
# "and for X?": X qualifies the old question, unless it names what a preposition pointed at.
_NEW_OBJECT = re.compile(
    r"^\W*(?:(?:and|but|so|ok|okay|also)\W+)*"
    r"(?:(?P<replace>(?:what|how)\s+about|(?:the\s+)?same\s+(?:for|with|about|goes\s+for)|what\s+if\s+it'?s)"
    r"|(?P<qualify>for))"
    r"\s+(?P<object>[^?!.]+?)\W*$",
    re.IGNORECASE,
)
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’-]*")
_DETERMINERS = {"a", "an", "the", "my", "your", "our", "this", "that", "these", "those", "some", "any"}
_PREPOSITIONS = {"to", "in", "for", "from", "with", "on", "at", "into", "by", "of", "after", "before",
                 "within", "during", "over", "under", "about", "without", "per"}
_SUBJECTS = {"i", "you", "we", "they", "he", "she"}  # the word after one is its verb ("can I return")
# Words that frame a question rather than name its object.
_FRAME = STOPWORDS | _DETERMINERS | _PREPOSITIONS | _SUBJECTS | {
    "can", "could", "may", "might", "will", "would", "should", "must", "do", "does", "did", "is", "are",
    "was", "how", "what", "when", "where", "which", "who", "why", "long", "much", "many", "me", "if",
    "and", "or", "than"}


def deterministic_standalone(question: str, history: list[Turn]) -> str:
    # Counters and stray keys carry no words (stray_marks.py): the search sees the words alone.
    earlier = [without_stray_marks(turn.text.strip()) for turn in history if turn.role == "user" and turn.text.strip()]
    question = without_stray_marks(question.strip())
    context = earlier[-PREVIOUS_QUESTIONS:]
    match = _NEW_OBJECT.match(question) if earlier else None
    new_object = bool(match and keyword_tokens(match.group("object")))  # not "what about it?"
    if match:
        subject = next((text for text in reversed(earlier) if not is_follow_up(text)), None)
        qualify = bool(match.group("qualify"))
        if subject and (rewritten := replace_object(subject, match.group("object"), qualify)):
            question = rewritten
    # A message naming a new object ("and what about sale items?") moves away from what the
    # assistant just said; that answer's words would pull the search back to the old object.
    if not new_object and (reply := last_reply(history)):
        context.append(reply)
    return compose_standalone(question, context)


def last_reply(history: list[Turn]) -> str | None:
    """The start of the assistant's message this one answers, if the thread ends with one.

    "Yes, that's the one" or "no, neither of those" mean what the assistant just asked or said,
    and the user's own earlier messages rarely hold those words. Held out on the doc2dial dev set
    (5 folds by page), adding it to the thread's context lifted the gold page in the top 5 from
    0.921 to 0.947 (Social Security 0.838 to 0.881). Only its start: the first sentences say what
    it was about, and the embedding model reads 256 tokens of the whole context at most.
    """
    if not history or history[-1].role != "assistant" or not history[-1].text.strip():
        return None
    # The bot's own answers carry citation markers ("[1]"); they are no words of the topic.
    text = " ".join(without_stray_marks(history[-1].text).split())
    if len(text) > REPLY_CONTEXT_CHARS:
        text = text[:REPLY_CONTEXT_CHARS].rsplit(" ", 1)[0]
    return text


def replace_object(question: str, new_object: str, qualify: bool = False) -> str | None:
    """The question with the phrase the new object stands in for replaced by it.

    That phrase is a run of the question's content words: the one sharing a word stem with the new
    object ("an opened item" for "sale items"), else the last one after a preposition ("the US"
    in "...take to the US?" for "Canada"), else the last one ("opened items" for "gift cards").
    What qualified the old object goes with it ("after 30 days" was said of opened items, not of
    sale items); the thread's context still carries it for the search. With `qualify` ("and for
    Canada?") only a phrase after a preposition is replaced; without one the new object is added:
    "How much does the return label cost for Canada?".
    """
    runs = _content_runs(question)
    stems = set(keyword_tokens(new_object))
    if not runs or not stems:  # "what about it?" names nothing new
        return None
    sharing = [run for run in runs if stems & set(keyword_tokens(question[run[0]:run[1]]))]
    after_preposition = [run for run in runs if run[2]]
    stripped = question.rstrip()
    ending = stripped[-1] if stripped[-1] in "?!." else "?"
    if qualify and not (sharing or after_preposition):
        return f"{stripped.rstrip('?!.')} for {new_object.strip()}{ending}"
    start, _, _ = (sharing or after_preposition or runs)[-1]
    return f"{question[:start]}{new_object.strip()}{ending}"


def _content_runs(question: str) -> list[tuple[int, int, bool]]:
    """(start, end, follows a preposition) of each run of content words, with its determiner."""
    runs: list[tuple[int, int, bool]] = []
    words = list(_WORD.finditer(question))
    run_start = None
    for i, word in enumerate(words):
        after_subject = i > 0 and words[i - 1].group().lower() in _SUBJECTS
        content = word.group().lower() not in _FRAME and not after_subject
        if content and run_start is None:
            run_start = i
        if run_start is not None and (not content or i == len(words) - 1):
            last = i if content else i - 1
            first = run_start - 1 if run_start and words[run_start - 1].group().lower() in _DETERMINERS else run_start
            before = words[first - 1].group().lower() if first else ""
            runs.append((words[first].start(), words[last].end(), before in _PREPOSITIONS))
            run_start = None
    return runs


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
