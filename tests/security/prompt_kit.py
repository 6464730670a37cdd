"""Shared by the prompt-structure security tests: a knowledge base of attack documents indexed
once, a bot that asks the Anthropic fake, and a reader for the message the model was sent."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import PROMPTS, make_settings
from tests.fakes.anthropic_server import FakeAnthropic
from tests.helpers import build_test_bot


@dataclass(frozen=True)
class AttackDoc:
    name: str
    topic: str  # what the document is about: the question asks about it
    payload: str  # planted in the body
    title: str = ""
    heading: str = ""

    def markdown(self) -> str:
        title = self.title or self.topic.capitalize()
        heading = self.heading or f"How {self.topic} works"
        return (f'---\nid: {self.name}\ntitle: {json.dumps(title)}\nurl: https://example.test/{self.name}\n---\n'
                f"# {self.topic.capitalize()}\n\n## {heading}\n\n"
                f"Our {self.topic} service is offered at every store. {self.topic.capitalize()} is booked "
                f"at the counter and costs 15 dollars.\n\n{self.payload}\n\n"
                f"Ask staff at the counter about {self.topic}.\n")

    @property
    def question(self) -> str:
        return f"How does your {self.topic} service work and what does {self.topic} cost?"


def index_attack_docs(root: Path, docs: list[AttackDoc], embeddings) -> Path:
    from bot.knowledge.indexer import reindex
    from bot.knowledge.stores.local import LocalHybridIndex

    kb = root / "kb"
    (kb / "public").mkdir(parents=True)
    (kb / "staff").mkdir()
    for doc in docs:
        (kb / "public" / f"{doc.name}.md").write_text(doc.markdown(), encoding="utf-8")
    settings = make_settings(root, kb)
    reindex(settings, LocalHybridIndex(settings.index_dir), embeddings)
    return root


def model_bot(root: Path, embeddings, fake: FakeAnthropic):
    from bot.answering.generation import ClaudeAnswerer

    settings = make_settings(root, root / "kb", prompts=PROMPTS)
    settings = settings.model_copy(update={
        "anthropic_api_key": "test-key",
        "llm": settings.llm.model_copy(update={"base_url": fake.base_url, "max_retries": 0,
                                               "timeout_s": 5, "model": "claude-test"}),
        "cache": settings.cache.model_copy(update={"enabled": False}),
    })
    return build_test_bot(settings, embeddings, answerer=ClaudeAnswerer(settings))


def user_message(request: dict) -> str:
    content = request["messages"][-1]["content"]
    return content if isinstance(content, str) else "".join(part.get("text", "") for part in content)


_PASSAGE = re.compile(r'<passage number="(\d+)" title="([^"\n]*)" section="([^"\n]*)">\n(.*?)\n</passage>', re.S)
_QUESTION = re.compile(r"<question>\n(.*?)\n</question>", re.S)


@dataclass
class PromptStructure:
    passages: list[tuple[int, str, str, str]]  # number, title, section, body (unescaped)
    question: str

    def bodies_of(self, marker: str) -> list[str]:
        return [body for _, _, _, body in self.passages if marker in body]


def read_structure(text: str) -> PromptStructure:
    """The message's tagged parts; asserts that every tag the code opens is closed once and that
    no tag appears that the code did not write (a document or a question cannot add one)."""
    passages = [(int(n), html.unescape(t), html.unescape(s), html.unescape(b)) for n, t, s, b in _PASSAGE.findall(text)]
    questions = _QUESTION.findall(text)
    assert len(questions) == 1, f"expected exactly one <question> element, found {len(questions)}"
    assert text.count("<question>") == 1 and text.count("</question>") == 1
    assert text.count("<passage ") == text.count("</passage>") == len(passages) > 0
    assert text.count("<passages>") == 1 and text.count("</passages>") == 1
    assert text.count("<history>") == 1 and text.count("</history>") == 1
    return PromptStructure(passages=passages, question=html.unescape(questions[0]))
