from bot.answering.citations import number_passages, resolve_citations
from bot.knowledge.stores.protocol import SearchHit
from bot.knowledge.splitting import Chunk
from bot.types import Source


def _hit(doc, index, text="text"):
    chunk = Chunk(id=f"{doc}{index}", document_id=doc, index=index, text=text, title=doc.title(),
                  url=f"https://x.test/{doc}", audience="public", headings=(doc.title(),), content_hash="h")
    return SearchHit(chunk=chunk, score=1.0, similarity=0.5, keyword_score=1.0)


def _sources(*numbers):
    return {n: Source(number=n, title=f"T{n}", url=f"u{n}", document_id=f"d{n}") for n in numbers}


def test_passages_are_numbered_per_document():
    numbered = number_passages([_hit("returns", 0), _hit("shipping", 0), _hit("returns", 3)], 10_000)
    assert [n for n, _ in numbered.hits] == [1, 2, 1]
    assert numbered.sources[1].document_id == "returns" and len(numbered.sources) == 2
    assert numbered.text.startswith("[1] Returns")


def test_context_is_bounded_by_characters():
    numbered = number_passages([_hit("a", 0, "x" * 600), _hit("b", 0, "y" * 600)], 1000)
    assert len(numbered.hits) == 1


def test_unknown_markers_are_dropped_and_the_rest_renumbered():
    text, sources = resolve_citations("Fees apply [2]. Shipping is free [7]. Tents too [2][1].", _sources(1, 2))
    assert text == "Fees apply [1]. Shipping is free. Tents too [1][2]."
    assert [(s.number, s.title) for s in sources] == [(1, "T2"), (2, "T1")]


def test_grouped_markers_and_duplicates():
    text, sources = resolve_citations("Yes [1, 3, 1]; no [3;9].", _sources(1, 3))
    assert text == "Yes [1][2]; no [2]."
    assert len(sources) == 2


def test_no_markers_gives_no_sources():
    assert resolve_citations("Plain text.", _sources(1)) == ("Plain text.", [])
