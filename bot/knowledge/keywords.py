"""Keyword search: BM25 (bm25s) over stemmed words, the same k1 and b as Weaviate's defaults."""

from __future__ import annotations

import re

import bm25s
import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_EN

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
STOPWORDS = frozenset(STOPWORDS_EN)
_stemmer = Stemmer.Stemmer("english")


def keyword_tokens(text: str) -> list[str]:
    words = [w.split("'")[0] for w in _WORD.findall(text.lower())]
    return _stemmer.stemWords([w for w in words if w not in STOPWORDS])


class KeywordIndex:
    """BM25 over a fixed list of texts; rebuilt whenever the list changes (milliseconds per 1k)."""

    def __init__(self, texts: list[str]) -> None:
        self.size = len(texts)
        self._bm25 = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
        if texts:
            # An empty token list would be dropped by bm25s and shift every row after it.
            self._bm25.index([keyword_tokens(t) or ["\0"] for t in texts], show_progress=False)

    def scores(self, query: str) -> np.ndarray:
        tokens = keyword_tokens(query)
        if not self.size or not tokens:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(tokens), dtype=np.float32)
