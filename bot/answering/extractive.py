"""The offline answer: the policy's own sentences that best answer the question, quoted and cited.

Used when no model is configured or the model call fails. It never paraphrases, so it can never
say something the policy does not; it only chooses which sentences to show.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections import OrderedDict

import numpy as np
from langchain_core.embeddings import Embeddings

from bot.answering.citations import NumberedPassages
from bot.knowledge.embeddings import embed_texts

MAX_SENTENCES = 3
MAX_PASSAGES = 3  # sentences come from the best few passages only
# A sentence must be nearly as relevant as the best one to be shown beside it.
RELATIVE_FLOOR = 0.15
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])|\n+")
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


def sentences_of(text: str) -> list[str]:
    pieces = [p.strip().lstrip("-*• ").strip() for p in _SENTENCE_END.split(text)]
    return [p for p in pieces if len(p) >= 25 and any(c.isalpha() for c in p)]


def extractive_answer(question_vector: np.ndarray, passages: NumberedPassages,
                      embeddings: Embeddings) -> str:
    """Markdown quoting the most relevant sentences, each followed by its [n] marker."""
    candidates: list[tuple[int, int, int, str]] = []  # (number, passage rank, position, sentence)
    for rank, (number, hit) in enumerate(passages.hits[:MAX_PASSAGES]):
        for position, sentence in enumerate(sentences_of(hit.chunk.text)):
            candidates.append((number, rank, position, sentence))
    if not candidates:
        return ""
    vectors = _sentence_vectors.of(embeddings, [c[3] for c in candidates])
    relevance = vectors @ np.asarray(question_vector, dtype=np.float32)
    # A slight preference for the passages retrieval ranked first breaks near-ties.
    relevance = relevance - 0.02 * np.array([c[1] for c in candidates])
    best = float(relevance.max())
    order = [i for i in np.argsort(-relevance) if relevance[i] >= best - RELATIVE_FLOOR]
    chosen, seen = [], set()
    for i in order:
        if candidates[i][3] not in seen:
            chosen.append(i)
            seen.add(candidates[i][3])
        if len(chosen) == MAX_SENTENCES:
            break
    # Show them in reading order: passage rank, then position within the passage.
    chosen.sort(key=lambda i: (candidates[i][1], candidates[i][2]))
    quotes = "\n>\n".join(f'> {_plain(candidates[i][3])} [{candidates[i][0]}]' for i in chosen)
    return f"Here is what our policy says:\n\n{quotes}"


def _plain(sentence: str) -> str:
    # Markdown emphasis inside a quote adds nothing and can break renderers' blockquotes.
    return sentence.replace("**", "").strip()
