"""Query vectors for a message and its thread, embedding each message once.

A thread's context vector used to be the embedding of all its messages joined: up to 256 tokens
through the model on every turn, though every earlier message had been embedded on its own turn
already. Here each message is embedded once and remembered (a bounded LRU keyed by its text), and
the context vector is the mean of the messages' vectors weighted by their length in words, which
approximates the joint embedding's mean pooling over tokens. A turn then embeds only its own
words: a dozen tokens instead of up to 256. It also no longer drops the newest message when a long
thread fills the model's 256 tokens.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
from langchain_core.embeddings import Embeddings

from bot.knowledge.embeddings import embed_texts

CACHED_MESSAGES = 4096  # ~6 MB of 384-dimension float32 vectors


class QueryVectors:
    def __init__(self, embeddings: Embeddings, size: int = CACHED_MESSAGES) -> None:
        self.embeddings = embeddings
        self.size = size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def message_vectors(self, texts: Sequence[str]) -> list[np.ndarray]:
        """One vector per text; texts not seen lately are embedded together in one batch."""
        with self._lock:
            known = {text: self._cache[text] for text in texts if text in self._cache}
            for text in known:
                self._cache.move_to_end(text)
        missing = list(dict.fromkeys(text for text in texts if text not in known))
        if missing:
            fresh = embed_texts(self.embeddings, missing)
            with self._lock:
                for text, vector in zip(missing, fresh):
                    known[text] = vector
                    self._cache[text] = vector
                while len(self._cache) > self.size:
                    self._cache.popitem(last=False)
        return [known[text] for text in texts]

    def for_thread(self, own_words: str, earlier: Sequence[str]) -> tuple[np.ndarray, np.ndarray | None]:
        """The message's own vector, and the thread's context vector (None outside a thread)."""
        vectors = self.message_vectors([*earlier, own_words])
        if not earlier:
            return vectors[-1], None
        return vectors[-1], thread_vector(vectors, [*earlier, own_words])


def thread_vector(vectors: Sequence[np.ndarray], texts: Sequence[str]) -> np.ndarray:
    weights = np.array([max(1, len(text.split())) for text in texts], dtype=np.float32)
    mean = (np.asarray(vectors, dtype=np.float32) * weights[:, None]).sum(axis=0)
    return mean / max(float(np.linalg.norm(mean)), 1e-12)
