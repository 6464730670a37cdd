"""The largest and nastiest inputs the renderers must fit into Slack's and Discord's limits.

Shared by the limit tests of both adapters and by scripts/payload_sizes.py, which prints the
worst-case size of every request shape against its limit.
"""

from __future__ import annotations

from bot.buttons import ButtonSigner
from bot.types import Answer, ConversationKey, Escalation, Source, Turn

ANSWER_ID = "a" * 32
SIGNER = ButtonSigner(b"worst-case-button-secret-0123456789", 30 * 24 * 3600)  # seals rendered buttons
USER_ID = "U" + "0" * 20  # the longest user id a button carries


def long_sources(count: int = 10, title_chars: int = 300, url_chars: int = 400) -> list[Source]:
    """Sources with long titles (full of characters that need escaping) and long addresses."""
    sources = []
    for n in range(1, count + 1):
        title = (f"Returns & refunds <policy> part {n}: " + "exchanges & store credit " * 20)[:title_chars]
        url = f"https://help.example.test/policies/{n}/" + "section-" * (url_chars // 8)
        sources.append(Source(n, title, url[:url_chars], f"doc-{n}", heading="Opened items & <exceptions>"))
    return sources


def returns_page() -> Source:
    """The page long_answer_text links to: one of the answer's sources, so the link survives."""
    return Source(11, "Returns page", "https://help.example.test/returns?a=1&b=2", "returns-page")


def long_answer_text(chars: int = 6000) -> str:
    """Paragraphs with citations, markdown links, entities to escape and a code block."""
    paragraph = ("Unused items in their original packaging can be returned within 30 days [1]. "
                 "Opened items & sale items < $20 are final [2]; see [the returns page](https://help.example.test/"
                 "returns?a=1&b=2) for the form. ")
    parts, n = [], 0
    while sum(len(p) + 2 for p in parts) < chars:
        n += 1
        parts.append(f"**Part {n}.** " + paragraph * 2)
        if n == 3:
            parts.append("```\nreturn-label --order 1234 --reason \"too small\" && echo <done>\n```")
    return "\n\n".join(parts)[:chars]


def answer(text: str | None = None, sources: list[Source] | None = None, mode: str = "generated") -> Answer:
    return Answer(text=long_answer_text() if text is None else text,
                  sources=long_sources() if sources is None else sources,
                  grounded=mode in ("generated", "extractive"), answer_id=ANSWER_ID, prompt_version="p1",
                  standalone_question="q", mode=mode)


def long_question(chars: int = 4000) -> str:
    """A customer's question of 4,000 characters, a third of them characters Slack must escape."""
    return ("Why was my order <#1234> & the refund for it not sent? " * (chars // 50 + 1))[:chars]


def escalation(conversation: ConversationKey, *, question: str | None = None, turns: int = 40) -> Escalation:
    transcript = [Turn("user" if n % 2 == 0 else "assistant", long_question(1500)) for n in range(turns)]
    return Escalation(escalation_id="e" * 32, conversation=conversation, requested_by="U0ASKER",
                      question=long_question() if question is None else question, transcript=transcript,
                      last_answer=answer(), acknowledgement="A person will follow up here.")


# Texts built to break a naive splitter: entities and links at every position, no spaces at all,
# very long lines, code fences left open.
ADVERSARIAL = [
    "&" * 7000,
    "<>&" * 3000,
    "word " * 3000,
    "x" * 9000,
    ("[see this](https://help.example.test/a-rather-long-address/" + "p" * 80 + ") ") * 120,
    ("<https://help.example.test/" + "q" * 60 + "|a & b> ") * 150,
    "```\n" + "print('<&>')\n" * 900,
    "\n".join(f"- item {n} & <{n}>" for n in range(1500)),
]
