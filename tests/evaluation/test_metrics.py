"""The evaluation figures, checked by hand on small inputs."""

from bot.evaluation.metrics import (
    citations_valid,
    gold_rank,
    passage_coverage,
    percentile,
    ranking_summary,
    unique_in_order,
)


def test_gold_rank_and_ranking_summary():
    ranked = unique_in_order(["a", "a", "b", "c", "b", "d"])
    assert ranked == ["a", "b", "c", "d"]
    assert gold_rank(ranked, ["c"]) == 3 and gold_rank(ranked, ["z"]) is None
    summary = ranking_summary([1, 3, None, 7])
    assert summary == {"top1": 0.25, "top5": 0.5, "top10": 0.75, "mrr": (1 + 1 / 3 + 1 / 7) / 4}


def test_passage_coverage_counts_span_characters_found_in_the_chunks():
    spans = ["You can renew online. ", "Bring two proofs of identity."]
    assert passage_coverage(spans, ["Intro. You can renew\n online. More"]) == len("you can renew online.") / (
        len("you can renew online.") + len("bring two proofs of identity."))
    assert passage_coverage(spans, ["bring two proofs of identity.", "you can renew online."]) == 1.0
    assert passage_coverage([], ["anything"]) == 0.0


def test_citations_valid_only_when_every_marker_names_a_source():
    assert citations_valid("Yes [1], and also [2].", [1, 2])
    assert not citations_valid("Yes [1], see [3].", [1, 2])
    assert citations_valid("No markers at all.", [])


def test_percentile_is_nearest_rank():
    values = list(range(1, 101))
    assert percentile(values, 0.5) == 50 and percentile(values, 0.95) == 95 and percentile([], 0.5) == 0.0
