"""Neutral data that crosses the adapter boundary.

Plain values only: ids, markdown text, sources. Never a platform client or a raw payload, so the
same Answer renders as Block Kit, a Discord embed or terminal output.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum


class Audience(StrEnum):
    """Who is asking. Staff see staff-only documents as well; customers never do."""

    PUBLIC = "public"
    STAFF = "staff"

    def can_read(self, document_audience: str) -> bool:
        return self is Audience.STAFF or document_audience == Audience.PUBLIC


@dataclass(frozen=True)
class ConversationKey:
    """One thread: memory, escalation state and quiet mode hang off this."""

    platform: str
    channel: str
    thread: str

    def __str__(self) -> str:
        return f"{self.platform}:{self.channel}:{self.thread}"


@dataclass(frozen=True)
class Inquiry:
    """A question as the core sees it, whatever platform it came from."""

    text: str
    conversation: ConversationKey
    user_id: str
    audience: Audience = Audience.PUBLIC
    user_name: str = ""
    event_id: str = ""
    is_admin: bool = False  # decided by the adapter from its settings; admins are not rate limited
    tenant: str | None = None  # Slack team / Discord guild id: whose knowledge base (multi-tenancy)
    rate_checked: bool = False  # SupportBot.may_speak took this question's rate-limit token already


@dataclass(frozen=True)
class Turn:
    """One remembered message of a thread."""

    role: str  # "user" or "assistant"
    text: str
    # An answer's cited documents (ids), and the pages its search ranked first, cited or not: a
    # reply in the thread is most often about them (the re-ranker reads both, see ThreadPages).
    sources: tuple[str, ...] = ()
    consulted: tuple[str, ...] = ()

    @classmethod
    def from_record(cls, record: dict) -> Turn:
        """A turn from its JSON form; those stored before answers' pages were kept have none."""
        return cls(role=record["role"], text=record["text"], sources=tuple(record.get("sources") or ()),
                   consulted=tuple(record.get("consulted") or ()))


@dataclass(frozen=True)
class ThreadPages:
    """What a thread's earlier answers drew on, for ranking a reply (reranking.py)."""

    cited: tuple[str, ...] = ()  # the documents each earlier answer cited, once per answer
    consulted: tuple[str, ...] = ()  # the pages the last answer's search ranked first

    @classmethod
    def of(cls, history: list[Turn]) -> ThreadPages:
        answers = [turn for turn in history if turn.role == "assistant"]
        return cls(cited=tuple(doc for turn in answers for doc in turn.sources),
                   consulted=answers[-1].consulted if answers else ())


@dataclass(frozen=True)
class Source:
    """A cited policy document; `number` matches the [n] markers in the answer text."""

    number: int
    title: str
    url: str
    document_id: str
    heading: str = ""


@dataclass
class Answer:
    """What the bot says, with everything an adapter needs to render it."""

    text: str
    sources: list[Source]
    grounded: bool
    answer_id: str
    prompt_version: str
    standalone_question: str
    mode: str  # "generated", "extractive", "declined", "rejected" (bad input), "limited"
    # (rate limited) or "unavailable" (the policy index is down: an apology)
    offer_human: bool = True
    cached: bool = False
    audience: Audience = Audience.PUBLIC
    generation: int = 0
    timings_ms: dict[str, float] = field(default_factory=dict)

    def cited_documents(self) -> tuple[str, ...]:
        """The documents the answer cites, each once, in citation order (what a thread remembers)."""
        return tuple(dict.fromkeys(source.document_id for source in self.sources))

    def to_dict(self) -> dict:
        data = asdict(self)
        data["audience"] = str(self.audience)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Answer:
        fields = dict(data)
        fields["sources"] = [Source(**s) for s in data["sources"]]
        fields["audience"] = Audience(data.get("audience", Audience.PUBLIC))
        return cls(**fields)


@dataclass(frozen=True)
class Escalation:
    """A hand-over to a human: what the staff channel receives and what the asker is told."""

    escalation_id: str
    conversation: ConversationKey
    requested_by: str
    question: str
    transcript: list[Turn]
    last_answer: Answer | None
    acknowledgement: str
    resolved_by: str = ""


@dataclass(frozen=True)
class Feedback:
    answer_id: str
    prompt_version: str
    helpful: bool
    user_id: str
