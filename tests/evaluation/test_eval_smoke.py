"""CI smoke: `supportbot eval --subset small` on the real dev data shipped in eval/data, end to end.

It fails on any error and on a citation validity below 1.0; the quality figures are printed and
written to the report, not asserted (they are measured, and a slower machine must not fail them).
"""

import json

import pytest
from typer.testing import CliRunner

from bot import cli
from bot.evaluation.harness import DEFAULT_CORPUS, DEFAULT_OFFTOPIC, DEFAULT_QUESTIONS
from tests.conftest import REPO

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


def test_the_dev_sets_ship_with_the_repository():
    for path in (DEFAULT_CORPUS, DEFAULT_QUESTIONS, DEFAULT_OFFTOPIC):
        assert path.is_file() and path.is_relative_to(REPO / "eval" / "data"), path
        assert (path.parent / "README.md").is_file(), f"{path.parent} needs its attribution README"


def test_eval_small_subset_runs_and_every_citation_is_valid(in_repo):
    report_path = in_repo / "reports" / "eval.json"
    # No data options: the defaults are the dev sets in eval/data, from any working directory.
    result = CliRunner().invoke(cli.app, ["eval", "--subset", "small", "--report", str(report_path)])
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
    # Tuned settings judged on held-out folds, the thread and language checks, the paraphrase cache.
    assert len(report["cross_validation"]["per_fold"]) == 5
    assert isinstance(report["cross_validation"]["summary"]["top5"]["std"], float)
    checks = report["checks"]
    assert checks["new_topic"]["n"] == checks["offtopic_in_thread"]["n"] == 60
    assert checks["language.es"]["told_which_languages_rate"] == 1.0
    assert checks["language.en"]["told_which_languages_rate"] == 0.0
    assert report["paraphrase_cache"]["questions"] == 790 and report["paraphrase_cache"]["sweep"]
    assert "distractors" in report["meta"]["corpus_note"]
    assert report_path.with_suffix(".md").is_file() and "Quality beside the baselines" in result.output


def test_eval_with_a_missing_file_says_which(in_repo):
    result = CliRunner().invoke(cli.app, ["eval", "--questions", str(in_repo / "nope.jsonl")])
    assert result.exit_code == 2
    output = " ".join(result.output.split())  # rich wraps long paths
    assert "nope.jsonl does not exist" in output and "Traceback" not in output
