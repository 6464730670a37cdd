"""Question sets: multi-turn support questions (doc2dial's form) and off-topic requests (CLINC's).

Any JSONL file in the same form can be evaluated:

- questions: ``{"id", "question", "history": [{"role": "user"|"agent", "text"}], "gold_doc_ids",
  "answerable", "domain", "gold_char_span", "subset_small"}``; only ``id`` and ``question`` are
  required (no gold documents means unanswerable).
- off-topic: ``{"id", "text"}`` per line.
- multilingual: the questions form plus ``"language"`` (ISO 639-1), e.g. dev questions translated
  (eval/data/multilingual). They are reported on their own, not mixed into the dev figures.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bot.types import Turn

ANSWERABLE, UNANSWERABLE, OFFTOPIC = "answerable", "unanswerable", "offtopic"
KINDS = (ANSWERABLE, UNANSWERABLE, OFFTOPIC)
# Off-topic files carry no subset flag; the quick subset takes this share of them by a hash of
# the id, so it is the same on every machine and run.
OFFTOPIC_SMALL_SHARE = 0.4
_ROLES = {"user": "user", "agent": "assistant", "assistant": "assistant"}


class EvalDataError(Exception):
    """A question file that cannot be used; the message names the file, line and fix."""


@dataclass(frozen=True)
class EvalCase:
    id: str
    kind: str  # answerable, unanswerable or offtopic
    domain: str
    question: str
    history: tuple[Turn, ...] = ()
    gold_doc_ids: tuple[str, ...] = ()
    gold_char_span: tuple[int, int] | None = None
    subset_small: bool = False
    # Questions that must never be split between tuning and testing: every turn of a dialogue,
    # and every dialogue about the same page (cross-validation folds are made of whole groups).
    group: str = ""
    language: str = "en"
    # Set for the extra checks (threads.py, the multilingual set): reported apart from the dev
    # figures and never used for tuning.
    check: str = ""


def jsonl_records(path: Path) -> Iterator[tuple[int, dict]]:
    if not path.is_file():
        raise EvalDataError(f"{path} does not exist; pass an existing JSONL file.")
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise EvalDataError(f"{path} line {number} is not JSON ({exc}).") from None
            if not isinstance(record, dict):
                raise EvalDataError(f"{path} line {number} is not a JSON object.")
            yield number, record


def _required(record: dict, key: str, path: Path, number: int) -> str:
    value = record.get(key)
    if not isinstance(value, str) or not value.strip():
        raise EvalDataError(f"{path} line {number} has no '{key}' text; every record needs one.")
    return value


def load_questions(path: Path, check: str = "") -> list[EvalCase]:
    cases = []
    for number, record in jsonl_records(path):
        question = _required(record, "question", path, number)
        case_id = str(record.get("id") or f"{path.stem}:{number}")
        gold = tuple(str(d) for d in record.get("gold_doc_ids") or ())
        answerable = bool(record.get("answerable", bool(gold)))
        if answerable and not gold:
            raise EvalDataError(f"{path} line {number} ({case_id}) is answerable but has no "
                                "'gold_doc_ids'; add them or set \"answerable\": false.")
        try:
            history = tuple(Turn(_ROLES[t["role"]], str(t["text"])) for t in record.get("history") or ())
        except (KeyError, TypeError):
            raise EvalDataError(f"{path} line {number} ({case_id}): each history turn needs 'role' "
                                "('user' or 'agent') and 'text'.") from None
        span = record.get("gold_char_span")
        cases.append(EvalCase(
            id=case_id, kind=ANSWERABLE if answerable else UNANSWERABLE,
            domain=str(record.get("domain") or "unknown"), question=question, history=history,
            gold_doc_ids=gold, gold_char_span=(int(span[0]), int(span[1])) if span else None,
            subset_small=bool(record.get("subset_small", False)),
            group=_group(record, gold, case_id), language=str(record.get("language") or "en"),
            check=check,
        ))
    return cases


def _group(record: dict, gold: tuple[str, ...], case_id: str) -> str:
    # doc2dial ids are "<page title>#<section>": sections of one web page are one group.
    if gold:
        return "page:" + gold[0].split("#")[0]
    return "dialogue:" + str(record.get("dialogue_id") or case_id)


def load_offtopic(path: Path) -> list[EvalCase]:
    cases = []
    for number, record in jsonl_records(path):
        text = _required(record, "text", path, number)
        case_id = str(record.get("id") or f"{path.stem}:{number}")
        cases.append(EvalCase(id=case_id, kind=OFFTOPIC, domain=OFFTOPIC, question=text,
                              subset_small=_in_small_share(case_id), group="request:" + case_id))
    return cases


def _in_small_share(case_id: str) -> bool:
    digest = hashlib.sha256(case_id.encode()).digest()
    return int.from_bytes(digest[:4], "big") < OFFTOPIC_SMALL_SHARE * 2**32


def select_subset(cases: list[EvalCase], subset: str | None) -> list[EvalCase]:
    if subset in (None, "", "all"):
        return cases
    if subset == "small":
        return [case for case in cases if case.subset_small or case.check]
    raise EvalDataError(f"Unknown subset {subset!r}; use 'small' or leave it out for every question.")
