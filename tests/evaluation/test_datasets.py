"""Question files: what is read, and clear errors for what cannot be."""

import json

import pytest

from bot.evaluation.datasets import (
    ANSWERABLE, OFFTOPIC, UNANSWERABLE, EvalDataError, load_offtopic, load_questions, select_subset,
)


def _write(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_questions_with_history_gold_and_kinds(tmp_path):
    path = _write(tmp_path / "q.jsonl", [
        {"id": "d1_3", "question": "and the fee?", "domain": "dmv", "gold_doc_ids": ["fees"],
         "gold_char_span": [10, 40], "answerable": True, "subset_small": True,
         "history": [{"role": "user", "text": "How do I renew?"}, {"role": "agent", "text": "Online."}]},
        {"id": "c1", "question": "Is the mask mandate over?", "answerable": False, "gold_doc_ids": []},
    ])
    first, second = load_questions(path)
    assert first.kind == ANSWERABLE and first.gold_char_span == (10, 40) and first.subset_small
    assert [(t.role, t.text) for t in first.history] == [("user", "How do I renew?"), ("assistant", "Online.")]
    assert second.kind == UNANSWERABLE and second.domain == "unknown" and second.history == ()
    assert select_subset([first, second], "small") == [first]
    assert select_subset([first, second], None) == [first, second]


@pytest.mark.parametrize("line, message", [
    ("not json", "line 1 is not JSON"),
    ('{"id": "x"}', "no 'question' text"),
    ('{"id": "x", "question": "q", "answerable": true}', "answerable but has no 'gold_doc_ids'"),
    ('{"id": "x", "question": "q", "gold_doc_ids": ["d"], "history": [{"text": "hi"}]}', "'role'"),
])
def test_bad_question_files_say_what_is_wrong(tmp_path, line, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(EvalDataError, match=message):
        load_questions(path)


def test_missing_file_and_unknown_subset(tmp_path):
    with pytest.raises(EvalDataError, match="does not exist"):
        load_questions(tmp_path / "nope.jsonl")
    with pytest.raises(EvalDataError, match="Unknown subset 'tiny'"):
        select_subset([], "tiny")


def test_offtopic_small_share_is_stable_and_about_forty_percent(tmp_path):
    path = _write(tmp_path / "oos.jsonl", [{"id": f"oos_{n}", "text": f"request {n}"} for n in range(1000)])
    cases = load_offtopic(path)
    assert all(c.kind == OFFTOPIC and c.domain == OFFTOPIC for c in cases)
    small = [c.id for c in select_subset(cases, "small")]
    assert 330 < len(small) < 470
    assert small == [c.id for c in select_subset(load_offtopic(path), "small")]
