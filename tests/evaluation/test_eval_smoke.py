"""CI smoke: `supportbot eval --subset small` on the real dev data, end to end.

It fails on any error and on a citation validity below 1.0; the quality figures are printed and
written to the report, not asserted (they are measured, and a slower machine must not fail them).
"""

import json

import pytest
from typer.testing import CliRunner

from bot import cli
from tests.conftest import REPO

DATA = REPO.parent / "shared" / "data"
FILES = {"--corpus": DATA / "doc2dial" / "corpus.jsonl",
         "--questions": DATA / "doc2dial" / "questions_dev.jsonl",
         "--offtopic": DATA / "clinc150_oos" / "oos_dev.jsonl"}
REQUIRED = ["answerable.top1", "answerable.top5", "answerable.top10", "answerable.mrr",
            "answerable.answered_rate", "unanswerable.declined_rate", "offtopic.declined_rate",
            "citation_validity", "latency_ms.retrieval.p50", "latency_ms.retrieval.p95",
            "baselines.bm25_last.top5", "baselines.dense_last.top5"]


@pytest.fixture
def in_repo(tmp_path, monkeypatch, embeddings):
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("SUPPORTBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr("bot.wiring.build_embeddings", lambda _settings: embeddings)
    return tmp_path


@pytest.mark.skipif(not all(path.is_file() for path in FILES.values()),
                    reason="the evaluation data (../shared/data) is not beside this checkout")
def test_eval_small_subset_runs_and_every_citation_is_valid(in_repo):
    report_path = in_repo / "reports" / "eval.json"
    args = ["eval", "--subset", "small", "--report", str(report_path)]
    for option, path in FILES.items():
        args += [option, str(path)]
    result = CliRunner().invoke(cli.app, args)
    print(result.output)  # the figures, for whoever reads the CI log
    assert result.exit_code == 0, result.output
    report = json.loads(report_path.read_text())
    assert report["citation_validity"] == 1.0
    for path in REQUIRED:
        value = report
        for part in path.split("."):
            value = value[part]
        assert isinstance(value, float), path
    assert report["answerable"]["n"] == 790 and report["unanswerable"]["n"] == 24
    assert "distractors" in report["meta"]["corpus_note"]
    assert report_path.with_suffix(".md").is_file() and "Quality beside the baselines" in result.output


def test_eval_with_a_missing_file_says_which(in_repo):
    result = CliRunner().invoke(cli.app, ["eval", "--questions", str(in_repo / "nope.jsonl")])
    assert result.exit_code == 2
    output = " ".join(result.output.split())  # rich wraps long paths
    assert "nope.jsonl does not exist" in output and "Traceback" not in output
