"""The offline answer: the policy's own words that best answer the question, quoted and cited.

Used when no model is configured or the model call fails. It never paraphrases, so it can never
say something the policy does not; it only chooses what to quote.

It quotes *pieces*, not loose sentences (see passages.py): a sentence that introduces a list, steps
or table rows ("The following cannot be returned:") travels with them, because either half alone
says nothing. Pieces are picked by meaning, at most a few per source, and shown in the order the
policy itself gives them; an answer never ends on a colon.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict

import numpy as np
from langchain_core.embeddings import Embeddings

from bot.answering.citations import NumberedPassages
from bot.answering.passages import Piece, pieces_of
from bot.knowledge.stores.protocol import SearchHit
from bot.knowledge.embeddings import embed_texts

MAX_PIECES = 4
MAX_PER_SOURCE = 3  # a source quoted more than this is better read in full (its link is shown)
MAX_PASSAGES = 3  # pieces come from the best few passages only
# A piece must be nearly as relevant as the best one to be shown beside it.
RELATIVE_FLOOR = 0.1
# Retrieval's order counts: it read the whole thread. A piece from a later passage must be clearly
# better to be quoted ("what about sale items?" after a 30-day question quotes the final-sale
# list, not the 30-day sentences the thread's context also found).
RANK_PENALTY = 0.05
REMEMBERED_SENTENCES = 20_000  # ~30 MB of vectors


class SentenceVectors:
    """Vectors of recently quoted sentences, per embedding model.

    Questions about a popular page quote from the same few passages again and again; embedding
    their sentences once saves most of the offline answer's time (it was ~75 ms a question).
    """

    def __init__(self, size: int = REMEMBERED_SENTENCES) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._by_model: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def of(self, embeddings: Embeddings, sentences: list[str]) -> np.ndarray:
        # One lock around lookup and embedding: the model uses both cores for one batch anyway.
        with self._lock:
            try:
                known: OrderedDict = self._by_model.setdefault(embeddings, OrderedDict())
            except TypeError:  # an Embeddings class that cannot be a weak key (unhashable)
                return embed_texts(embeddings, sentences)
            missing = list(dict.fromkeys(s for s in sentences if s not in known))
            if missing:
                known.update(zip(missing, embed_texts(embeddings, missing)))
            for sentence in sentences:
                known.move_to_end(sentence)
            vectors = np.stack([known[s] for s in sentences])
            while len(known) > self.size:
                known.popitem(last=False)
        return vectors


_sentence_vectors = SentenceVectors()


class _Candidate:
    def __init__(self, number: int, rank: int, hit: SearchHit, position: int, piece: Piece) -> None:
        self.number, self.rank, self.piece = number, rank, piece
        self.policy_order = (hit.chunk.index, position)  # where it stands in its document
        # Headings say what a sentence is about: "Final-sale items" makes "The following cannot
        # be returned: ..." an answer to "Can I return sale items?".
        self.scored_text = f"{hit.chunk.heading}\n{piece.text}"


def extractive_answer(question_vector: np.ndarray, passages: NumberedPassages,
                      embeddings: Embeddings) -> str:
    """Markdown quoting the most relevant pieces, each followed by its [n] marker."""
    candidates = _without_overlaps(_candidates(passages))
    if not candidates:
        return ""
    relevance = _relevance(candidates, np.asarray(question_vector, dtype=np.float32), embeddings)
    chosen = _choose(candidates, relevance)
    # Reading order: sources in the order they were numbered, each in its policy's own order.
    chosen.sort(key=lambda c: (c.number, c.policy_order))
    quotes = "\n>\n".join(_quote(c) for c in chosen)
    return f"Here is what our policy says:\n\n{quotes}"


def _candidates(passages: NumberedPassages) -> list[_Candidate]:
    """Pieces of the best MAX_PASSAGES passages that have any: a passage that is only a heading
    ("What original documents do I need?") gives way to the next one."""
    candidates: list[_Candidate] = []
    quoted = 0
    for rank, (number, hit, text) in enumerate(_joined(passages.hits)):
        pieces = pieces_of(text, continued=hit.chunk.index > 0)
        candidates += [_Candidate(number, rank, hit, position, piece) for position, piece in enumerate(pieces)]
        quoted += bool(pieces)
        if quoted == MAX_PASSAGES:
            break
    return candidates


def _joined(hits: list[tuple[int, SearchHit]]) -> list[tuple[int, SearchHit, str]]:
    """Passages with each directly following passage of the same document joined on.

    Chunks overlap and cut lists at arbitrary places: two neighbours among the best passages are
    one stretch of the policy, so a list that runs across them is quoted whole.
    """
    texts = {id(hit): hit.chunk.text for _, hit in hits}
    by_position = {(hit.chunk.document_id, hit.chunk.index): hit for _, hit in hits}
    absorbed: set[int] = set()
    for _, hit in sorted(hits, key=lambda pair: -pair[1].chunk.index):  # last first: runs chain
        following = by_position.get((hit.chunk.document_id, hit.chunk.index + 1))
        if following is not None and id(following) not in absorbed and hit.chunk.heading == following.chunk.heading:
            texts[id(hit)] = _join_overlapping(texts[id(hit)], texts[id(following)])
            absorbed.add(id(following))
    return [(number, hit, texts[id(hit)]) for number, hit in hits if id(hit) not in absorbed]


def _join_overlapping(first: str, second: str) -> str:
    for size in range(min(len(first), len(second)), 0, -1):
        if first.endswith(second[:size]):
            return first + second[size:]
    return f"{first}\n{second}"


def _without_overlaps(candidates: list[_Candidate]) -> list[_Candidate]:
    """Overlapping passages repeat their edges, sometimes cut (a list's last items only): a piece
    whose lines all appear in a larger piece of the same source is left out."""
    lines = [set(c.piece.lines()) for c in candidates]
    kept = []
    for i, candidate in enumerate(candidates):
        covered = any(j != i and candidates[j].number == candidate.number and lines[i] <= lines[j]
                      and (len(lines[j]) > len(lines[i]) or j < i) for j in range(len(candidates)))
        if not covered:
            kept.append(candidate)
    return kept


def _relevance(candidates: list[_Candidate], question: np.ndarray, embeddings: Embeddings) -> np.ndarray:
    """How well each piece, read under its section's headings, matches the question."""
    texts = [c.scored_text for c in candidates]
    similarity = _sentence_vectors.of(embeddings, texts) @ question
    return similarity - RANK_PENALTY * np.array([c.rank for c in candidates])


def _choose(candidates: list[_Candidate], relevance: np.ndarray) -> list[_Candidate]:
    best = float(relevance.max())
    chosen: list[_Candidate] = []
    per_source: dict[int, int] = {}
    for i in np.argsort(-relevance, kind="stable"):
        candidate = candidates[i]
        if relevance[i] < best - RELATIVE_FLOOR or len(chosen) == MAX_PIECES:
            break
        if per_source.get(candidate.number, 0) == MAX_PER_SOURCE:
            continue
        chosen.append(candidate)
        per_source[candidate.number] = per_source.get(candidate.number, 0) + 1
    return chosen


def _quote(candidate: _Candidate) -> str:
    lines = candidate.piece.lines()
    lines[-1] = f"{lines[-1]} [{candidate.number}]"
    return "\n".join(f"> {line}" for line in lines)
