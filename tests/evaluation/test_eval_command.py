"""`supportbot eval` end to end on a small slice of the real data (two dialogues, a few pages)."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from bot import cli
from tests.conftest import PROMPTS, REPO

DATA = REPO.parent / "shared" / "data"
runner = CliRunner()


@pytest.fixture
def slice_files(tmp_path, monkeypatch, embeddings):
    if not (DATA / "doc2dial" / "corpus.jsonl").is_file():
        pytest.skip(f"the evaluation data is not at {DATA}")
    questions = [json.loads(line) for line in (DATA / "doc2dial" / "questions_dev.jsonl").open()]
    dialogues = list(dict.fromkeys(q["dialogue_id"] for q in questions if q["answerable"]))[:2]
    chosen = [q for q in questions if q["dialogue_id"] in dialogues] + [q for q in questions if not q["answerable"]][:3]
    gold = {doc for q in chosen for doc in q["gold_doc_ids"]}
    corpus = [json.loads(line) for line in (DATA / "doc2dial" / "corpus.jsonl").open()]
    pages = [d for d in corpus if d["id"] in gold] + [d for d in corpus if d["id"] not in gold][:4]
    offtopic = [line for line in (DATA / "clinc150_oos" / "oos_dev.jsonl").open()][:5]

    (tmp_path / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in pages))
    (tmp_path / "questions.jsonl").write_text("".join(json.dumps(q) + "\n" for q in chosen))
    (tmp_path / "offtopic.jsonl").write_text("".join(offtopic))
    shutil.copytree(PROMPTS, tmp_path / "prompts")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("bot.wiring.build_embeddings", lambda _settings: embeddings)
    return tmp_path, len(chosen)


def test_eval_writes_reports_with_the_documented_keys(slice_files):
    root, asked = slice_files
    result = runner.invoke(cli.app, ["eval", "--corpus", "corpus.jsonl", "--questions", "questions.jsonl",
                                     "--offtopic", "offtopic.jsonl", "--report", "out/report.json"])
    assert result.exit_code == 0, result.output
    report = json.loads((root / "out" / "report.json").read_text())
    for path in ("answerable.top1", "answerable.top5", "answerable.top10", "answerable.mrr",
                 "answerable.answered_rate", "unanswerable.declined_rate", "offtopic.declined_rate",
                 "citation_validity", "latency_ms.retrieval.p50", "latency_ms.retrieval.p95",
                 "baselines.bm25_last_message.top5", "baselines.dense_last_message.top5"):
        value = report
        for part in path.split("."):
            value = value[part]
        assert isinstance(value, float) and (value >= 0 if "latency" in path else 0 <= value <= 1), path
    assert report["answerable"]["count"] + report["unanswerable"]["count"] == asked
    assert report["offtopic"]["count"] == 5 and report["citation_validity"] == 1.0
    assert report["answerable"]["top10"] >= report["answerable"]["top5"] >= report["answerable"]["top1"]
    assert "| gold doc in top 5 |" in (root / "out" / "report.md").read_text()
    assert "supportbot eval" in result.output


def test_a_broken_question_file_is_named_with_its_line(slice_files):
    root, _ = slice_files
    (root / "questions.jsonl").write_text('{"id": "x", "question": "hi"}\n{not json\n')
    result = runner.invoke(cli.app, ["eval", "--corpus", "corpus.jsonl", "--questions", "questions.jsonl",
                                     "--offtopic", "offtopic.jsonl"])
    assert result.exit_code == 2
    assert "questions.jsonl:2: not valid JSON" in result.output
