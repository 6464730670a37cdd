"""Question sets in the doc2dial / CLINC150 JSONL formats (see ../shared/data READMEs).

Any file in the same format works: answerable and unanswerable dialogue questions with their
history and gold document, and off-topic requests that should all be declined.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DATA = Path("../shared/data")
DEFAULT_CORPUS = DEFAULT_DATA / "doc2dial" / "corpus.jsonl"
DEFAULT_QUESTIONS = DEFAULT_DATA / "doc2dial" / "questions_dev.jsonl"
DEFAULT_OFFTOPIC = DEFAULT_DATA / "clinc150_oos" / "oos_dev.jsonl"


class DatasetError(Exception):
    """A question file that cannot be used; the message names the file, line and field."""


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    domain: str
    answerable: bool
    history: tuple[tuple[str, str], ...] = ()  # (role "user"|"assistant", text), oldest first
    gold_doc_ids: tuple[str, ...] = ()
    gold_spans: tuple[str, ...] = field(default=(), repr=False)

    @property
    def kind(self) -> str:
        return "answerable" if self.answerable else "unanswerable"


def _records(path: Path) -> list[tuple[int, dict]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DatasetError(f"{path}: cannot be read ({exc.strerror}). Check the path "
                           "(the default data lives in ../shared/data).") from None
    records = []
    for number, line in enumerate(lines, 1):
        if line.strip():
            try:
                records.append((number, json.loads(line)))
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{path}:{number}: not valid JSON ({exc.msg}).") from None
    return records


def load_questions(path: Path, *, small: bool = False) -> list[Question]:
    """doc2dial-style questions; `small` keeps the records flagged `subset_small`."""
    questions = []
    for number, record in _records(path):
        if small and not record.get("subset_small", False):
            continue
        try:
            history = tuple(("assistant" if turn["role"] == "agent" else "user", turn["text"])
                            for turn in record.get("history") or [])
            questions.append(Question(
                id=str(record["id"]), text=record["question"], domain=record.get("domain") or "other",
                answerable=bool(record["answerable"]), history=history,
                gold_doc_ids=tuple(record.get("gold_doc_ids") or ()),
                gold_spans=tuple(span["text"] for span in record.get("gold_spans") or ()),
            ))
        except (KeyError, TypeError) as exc:
            raise DatasetError(f"{path}:{number}: missing or malformed field {exc}; each line needs "
                               "id, question, answerable (and history, gold_doc_ids, gold_spans).") from None
    return questions


def load_offtopic(path: Path, *, small: bool = False) -> list[Question]:
    """CLINC150-style off-topic requests; `small` keeps a fixed 40% (two records in five)."""
    questions = []
    for position, (number, record) in enumerate(_records(path)):
        if small and position % 5 >= 2:
            continue
        try:
            questions.append(Question(id=str(record["id"]), text=record["text"], domain="offtopic",
                                      answerable=False))
        except KeyError as exc:
            raise DatasetError(f"{path}:{number}: missing field {exc}; each line needs id and text.") from None
    return questions
