"""Numbered sources: one number per document, and markers that always point somewhere.

The passages shown to the model are labelled [n] by document; the answer's markers are then
checked against that map. A number without a source is dropped, and the sources that remain are
renumbered in the order the answer first cites them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.answering.links import safe_url
from bot.knowledge.stores.protocol import SearchHit
from bot.types import Source

MARKER = re.compile(r"\s?\[(\d+(?:\s*[,;]\s*\d+)*)\]")


@dataclass
class NumberedPassages:
    text: str
    sources: dict[int, Source]
    hits: list[tuple[int, SearchHit]]


def number_passages(hits: list[SearchHit], max_chars: int) -> NumberedPassages:
    numbers: dict[str, int] = {}
    sources: dict[int, Source] = {}
    blocks: list[str] = []
    numbered: list[tuple[int, SearchHit]] = []
    used = 0
    for hit in hits:
        chunk = hit.chunk
        block_text = chunk.text
        if used and used + len(block_text) > max_chars:
            break
        if chunk.document_id not in numbers:
            number = numbers[chunk.document_id] = len(numbers) + 1
            # A document's URL that could break out of a link is dropped here too (it is also
            # refused when indexed): its source is listed without a link.
            sources[number] = Source(number=number, title=chunk.title, url=safe_url(chunk.url),
                                     document_id=chunk.document_id, heading=chunk.heading)
        number = numbers[chunk.document_id]
        blocks.append(f"[{number}] {chunk.title} > {chunk.heading}\n{block_text}")
        numbered.append((number, hit))
        used += len(block_text)
    return NumberedPassages(text="\n\n".join(blocks), sources=sources, hits=numbered)


def resolve_citations(text: str, available: dict[int, Source]) -> tuple[str, list[Source]]:
    """Drop markers without a source, renumber the rest 1..n, return the sources they cite."""
    renumber: dict[int, int] = {}

    def replace(match: re.Match) -> str:
        kept = []
        for raw in re.split(r"\s*[,;]\s*", match.group(1)):
            number = int(raw)
            if number not in available:
                continue
            new = renumber.setdefault(number, len(renumber) + 1)
            if new not in kept:
                kept.append(new)
        if not kept:
            return ""
        return (" " if match.group(0).startswith((" ", "\n", "\t")) else "") + "".join(f"[{n}]" for n in kept)

    cleaned = MARKER.sub(replace, text)
    sources = [
        Source(number=new, title=s.title, url=s.url, document_id=s.document_id, heading=s.heading)
        for old, new in sorted(renumber.items(), key=lambda item: item[1])
        for s in [available[old]]
    ]
    return cleaned.strip(), sources
