"""The evaluation end to end on a tiny inline corpus: keys, figures, history and baselines."""

import json

import pytest

from bot.evaluation.harness import EvalRequest, run_evaluation
from bot.evaluation.report import markdown, write_reports
from bot.settings import load_settings

DOCS = [
    {"id": "passport#1", "title": "Passports", "text":
        "Apply for a passport\nYou need proof of citizenship, a photo and form DS-11. "
        "A first passport must be applied for in person at an acceptance facility.\n\n"
        "Passport fees\nThe application fee for an adult passport book is 130 dollars, plus a 35 dollar "
        "execution fee paid to the acceptance facility."},
    {"id": "license#1", "title": "Driver licenses", "text":
        "Renew a driver license\nYou can renew your driver license online up to one year before it "
        "expires. A vision test is needed if you renew in person."},
    {"id": "pets#1", "title": "Pet licenses", "text":
        "Dog licenses\nEvery dog older than four months must be licensed with the town clerk each year. "
        "Proof of rabies vaccination is required."},
]
QUESTIONS = [
    {"id": "a_1", "question": "What do I need to apply for a passport?", "domain": "state",
     "gold_doc_ids": ["passport#1"], "answerable": True, "gold_char_span": [21, 74]},
    {"id": "a_3", "question": "and how much is the fee?", "domain": "state", "gold_doc_ids": ["passport#1"],
     "answerable": True, "history": [{"role": "user", "text": "What do I need to apply for a passport?"},
                                     {"role": "agent", "text": "Proof of citizenship and a photo."}]},
    {"id": "b_1", "question": "Can I renew my driver license online?", "domain": "dmv",
     "gold_doc_ids": ["license#1"], "answerable": True},
    {"id": "u_1", "question": "How many grams of sugar are in a cup of coffee with milk?",
     "domain": "cdc", "gold_doc_ids": [], "answerable": False},
]
OFFTOPIC = [{"id": "o1", "text": "play some jazz music in the living room"},
            {"id": "o2", "text": "what is the capital of australia"}]
REQUIRED = ["answerable.top1", "answerable.top5", "answerable.top10", "answerable.mrr",
            "answerable.answered_rate", "unanswerable.declined_rate", "offtopic.declined_rate",
            "citation_validity", "latency_ms.retrieval.p50", "latency_ms.retrieval.p95",
            "baselines.bm25_last.top5", "baselines.dense_last.top5"]


def _jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


@pytest.fixture
def request_files(tmp_path):
    return EvalRequest(corpus=_jsonl(tmp_path / "corpus.jsonl", DOCS),
                       questions=_jsonl(tmp_path / "questions.jsonl", QUESTIONS),
                       offtopic=_jsonl(tmp_path / "oos.jsonl", OFFTOPIC))


async def test_report_has_every_required_figure_and_follow_ups_use_the_thread(tmp_path, request_files, embeddings):
    settings = load_settings(None, data_dir=tmp_path / "data")
    report, results = await run_evaluation(settings, request_files, embeddings=embeddings)
    for path in REQUIRED:
        value = report
        for part in path.split("."):
            value = value[part]
        assert isinstance(value, float), path
    assert report["answerable"]["n"] == 3 and report["answerable"]["top1"] == 1.0
    assert report["answerable"]["passage_coverage"] > 0.99  # question a_1's span lies in one chunk
    assert report["citation_validity"] == 1.0
    assert report["offtopic"]["declined_rate"] == 1.0 and report["unanswerable"]["declined_rate"] == 1.0
    follow_up = next(r for r in results if r.case.id == "a_3")
    # The thread's context: the user's earlier question, then the start of the agent's reply to it.
    assert follow_up.answer.standalone_question.endswith(
        "(earlier: What do I need to apply for a passport? / Proof of citizenship and a photo.)")
    assert follow_up.answer.mode == "extractive" and "130 dollars" in follow_up.answer.text
    assert set(report["per_domain"]) == {"state", "dmv", "cdc", "offtopic"}
    # The eval indexes into its own folder, and a second run embeds nothing.
    assert "eval" in report["meta"]["data_dir"] and report["meta"]["index"]["chunks_embedded"] > 0
    again, _ = await run_evaluation(settings, request_files, embeddings=embeddings)
    assert again["meta"]["index"]["chunks_embedded"] == 0 and again["meta"]["index"]["unchanged"] == 3


async def test_reports_are_written_as_json_markdown_and_cases(tmp_path, request_files, embeddings):
    report, results = await run_evaluation(load_settings(None, data_dir=tmp_path / "data"), request_files,
                                           embeddings=embeddings)
    written = write_reports(report, tmp_path / "out" / "eval.json", [r.to_record() for r in results])
    assert [p.name for p in written] == ["eval.json", "eval.md", "eval.cases.jsonl"]
    assert json.loads(written[0].read_text())["answerable"]["top5"] == report["answerable"]["top5"]
    text = markdown(report)
    assert "| gold document in top 5 | 1.000 |" in text and "bm25_last" in text
    lines = [json.loads(line) for line in written[2].read_text().splitlines()]
    assert len([r for r in lines if not r["check"]]) == 6 and lines[1]["signals"]["follow_up"] is True
    # The thread checks: the license question asked in the passport thread, each off-topic request in it.
    assert sorted(r["check"] for r in lines if r["check"]) == ["new_topic", "offtopic_in_thread", "offtopic_in_thread"]
    assert "## Thread checks and languages" in text and "held-out figure" in text


async def test_a_thread_s_earlier_answers_cite_what_the_bot_itself_cited(tmp_path, embeddings):
    # The follow-up comes first in the file: the runner still asks the dialogue's first question
    # first, so the follow-up's thread carries the pages the bot's own answer cited.
    files = EvalRequest(corpus=_jsonl(tmp_path / "corpus.jsonl", DOCS),
                        questions=_jsonl(tmp_path / "questions.jsonl", QUESTIONS[::-1]), offtopic=None)
    report, results = await run_evaluation(load_settings(None, data_dir=tmp_path / "data"), files,
                                           embeddings=embeddings)
    assert [r.case.id for r in results][:4] == [q["id"] for q in QUESTIONS[::-1]]
    first, follow_up = (next(r for r in results if r.case.id == name) for name in ("a_1", "a_3"))
    assert first.answer.cited_documents() == ("passport#1",)
    assert follow_up.case.history[-1].sources == ("passport#1",)  # the agent's turn, with the bot's pages
    assert follow_up.case.history[-1].consulted == first.retrieval.top_pages()
    assert first.retrieval.top_pages()[0] == "passport#1" and len(first.retrieval.top_pages()) == 3
    assert follow_up.case.history[0].sources == () and follow_up.retrieval.thread.cited == ("passport#1",)
