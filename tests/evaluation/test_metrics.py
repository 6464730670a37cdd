"""Figures from results: ranks, passage coverage and citation validity."""

from bot.evaluation.datasets import ANSWERABLE, EvalCase
from bot.evaluation.metrics import PassageLocator, citations_valid, gold_rank, ranking_figures
from bot.evaluation.runner import CaseResult
from bot.types import Answer, Source

TEXT = "Intro line.\n\nFees \nThe fee is 30 dollars.  It is paid\nonline. Refunds take a week."


def _result(text="The fee is 30 dollars [1].", sources=(("doc", 1),), retrieved=("doc",), passages=()):
    answer = Answer(text=text, sources=[Source(number=n, title="T", url="u", document_id=d) for d, n in sources],
                    grounded=True, answer_id="a", prompt_version="v", standalone_question="q", mode="extractive")
    case = EvalCase(id="c", kind=ANSWERABLE, domain="d", question="q", gold_doc_ids=("doc",),
                    gold_char_span=(TEXT.index("The fee"), TEXT.index(" Refunds")))
    return CaseResult(case=case, answer=answer, ranked_documents=["x", "doc"], passages=list(passages),
                      retrieved_documents=set(retrieved), timings_ms={})


def test_ranks_and_figures():
    assert gold_rank(["a", "b", "c"], ["c"]) == 3 and gold_rank(["a"], ["z"]) is None
    figures = ranking_figures([1, 3, None, 7])
    assert figures == {"n": 4, "top1": 0.25, "top5": 0.5, "top10": 0.75, "mrr": (1 + 1 / 3 + 1 / 7) / 4}


def test_coverage_counts_gold_characters_inside_retrieved_passages():
    locator = PassageLocator({"doc": TEXT})
    whole = _result(passages=[("doc", "Fees \nThe fee is 30 dollars.  It is paid\nonline.")])
    assert locator.coverage(whole) == 1.0
    # Whitespace folded by a splitter still locates; another document's other words count for nothing.
    half = _result(passages=[("doc", "The fee is 30 dollars. It"), ("other", "Refunds are not fees.")])
    assert 0.5 < locator.coverage(half) < 0.8
    assert locator.coverage(_result(passages=[("doc", "Intro line.")])) == 0.0


def test_the_same_words_from_a_near_identical_page_cover_the_gold_passage():
    locator = PassageLocator({"doc": TEXT, "twin": "Copy.\n" + TEXT})
    from_twin = _result(passages=[("twin", "Fees \nThe fee is 30 dollars.  It is paid\nonline.")])
    assert locator.coverage(from_twin) == 1.0 and locator.coverage(from_twin, same_page=True) == 0.0
    assert locator.coverage(_result(passages=[("twin", "Copy.")])) == 0.0


def test_citation_validity_needs_cited_listed_and_retrieved_sources():
    assert citations_valid(_result())
    assert not citations_valid(_result(text="The fee is 30 dollars [2]."))  # a number with no source
    assert not citations_valid(_result(text="The fee is 30 dollars."))  # nothing cited
    assert not citations_valid(_result(retrieved=("other",)))  # a source that was not retrieved
    assert not citations_valid(_result(sources=(("doc", 1), ("doc2", 2))))  # a listed source never cited
