"""Keyword sets of passages and titles, remembered: the re-ranker and the decline signals compare
a question's keywords with every candidate's, and stemming a 1,000-character passage again for
each question would cost more than the whole re-ranking (about 50 us a passage)."""

from __future__ import annotations

from bot.knowledge.keywords import keyword_tokens

REMEMBERED = 50_000  # texts; a knowledge base of 2,000 passages uses a few percent of it


class KeywordSets:
    def __init__(self, size: int = REMEMBERED) -> None:
        self.size = size
        self._known: dict[str, frozenset[str]] = {}

    def of(self, text: str) -> frozenset[str]:
        tokens = self._known.get(text)
        if tokens is None:
            if len(self._known) >= self.size:
                self._known.clear()  # crude, but a reindexed knowledge base refills it in one pass
            tokens = self._known[text] = frozenset(keyword_tokens(text))
        return tokens


_sets = KeywordSets()


def keyword_set(text: str) -> frozenset[str]:
    return _sets.of(text)


def share(words: frozenset[str], within: frozenset[str]) -> float:
    """The share of `words` that `within` holds (0 for no words)."""
    return len(words & within) / len(words) if words else 0.0
