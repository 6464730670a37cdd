"""The embedded policy store: hybrid search over files in the data directory, no server.

Layout under the index directory:
    CURRENT          names the live generation, e.g. "gen-000007" (replaced atomically)
    gen-000007/      chunks.jsonl, vectors.npy, meta.json
A commit writes the next generation beside the live one and then swaps CURRENT, so a failed or
interrupted update leaves the old generation serving. Other processes notice the swap on their
next search (one stat call) and load the new generation. If the generation CURRENT names is gone
(deleted by hand, a half-restored backup), the newest complete one left serves until the next
update writes a new generation, numbered past the lost one so cache keys never repeat.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import structlog

from bot.knowledge.fusion import relative_score_fusion
from bot.knowledge.keywords import KeywordIndex
from bot.knowledge.splitting import Chunk
from bot.knowledge.stores.protocol import IndexStoreError, SearchHit, SearchQuery

log = structlog.get_logger(__name__)
KEEP_GENERATIONS = 2
LOAD_ATTEMPTS = 5  # generations a reader follows while a writer keeps switching


@dataclass
class _Snapshot:
    """One loaded generation: immutable once built, swapped whole on reload."""

    generation: int
    embedding_model: str | None
    chunks: list[Chunk]
    vectors: np.ndarray
    keywords: KeywordIndex
    public_mask: np.ndarray

    @classmethod
    def build(cls, generation: int, model: str | None, chunks: list[Chunk], vectors: np.ndarray) -> _Snapshot:
        return cls(
            generation=generation, embedding_model=model, chunks=chunks,
            vectors=vectors.astype(np.float32, copy=False),
            keywords=KeywordIndex([c.embedding_text() for c in chunks]),
            public_mask=np.array([c.audience == "public" for c in chunks], dtype=bool),
        )


def _empty_snapshot() -> _Snapshot:
    return _Snapshot.build(0, None, [], np.zeros((0, 0), dtype=np.float32))


class LocalHybridIndex:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        # Built once: every search and every answer's generation check stats this file, and
        # joining the path each time cost more than the stat.
        self._current_file = self.directory / "CURRENT"
        self._lock = threading.Lock()
        self._current_stamp: tuple | None = None
        self._snapshot = _empty_snapshot()
        self._refresh()

    # ----- reading -------------------------------------------------------------------------

    def _stamp(self) -> tuple | None:
        try:
            stat = self._current_file.stat()
        except FileNotFoundError:
            return None
        return (stat.st_mtime_ns, stat.st_ino, stat.st_size)

    def _refresh(self) -> _Snapshot:
        stamp = self._stamp()
        if stamp == self._current_stamp:
            return self._snapshot
        with self._lock:
            if stamp != self._current_stamp:
                self._snapshot = self._load() if stamp else _empty_snapshot()
                self._current_stamp = stamp
        return self._snapshot

    def _load(self) -> _Snapshot:
        """The generation CURRENT names. A writer may switch and prune generations while this reads
        (it keeps the newest KEEP_GENERATIONS), so a generation that vanishes mid-read is followed."""
        for _ in range(LOAD_ATTEMPTS):
            name = self._current_name()
            folder = self.directory / name
            if not folder.is_dir() and self._current_name() == name:
                folder = self._newest_generation_folder(missing=name)
            try:
                return self._load_folder(folder)
            except FileNotFoundError as exc:
                if self._current_name() == name and folder.is_dir():  # not a switch: a broken one
                    raise IndexStoreError(f"The policy index in {folder} is damaged ({exc}); rebuild "
                                          "it with `supportbot index --full`.") from None
                # switched and pruned while it was read: load what CURRENT names now
        raise IndexStoreError(f"The policy index in {self.directory} kept changing while it was read "
                              f"({LOAD_ATTEMPTS} attempts); try again when `supportbot index` is done.")

    def _current_name(self) -> str:
        return self._current_file.read_text().strip()

    @staticmethod
    def _load_folder(folder: Path) -> _Snapshot:
        try:
            meta = json.loads((folder / "meta.json").read_text())
            with (folder / "chunks.jsonl").open(encoding="utf-8") as handle:
                chunks = [Chunk.from_record(json.loads(line)) for line in handle if line.strip()]
            vectors = np.load(folder / "vectors.npy")
        except FileNotFoundError:
            raise
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise IndexStoreError(
                f"The policy index in {folder} is damaged ({exc}); rebuild it with "
                "`supportbot index --full`."
            ) from None
        if len(chunks) != len(vectors) and len(chunks):
            raise IndexStoreError(f"{folder} has {len(chunks)} chunks but {len(vectors)} vectors; "
                                  "rebuild it with `supportbot index --full`.")
        return _Snapshot.build(meta["generation"], meta.get("embedding_model"), chunks, vectors)

    def _newest_generation_folder(self, missing: str) -> Path:
        """The newest generation left when the live one is gone (each is renamed into place whole)."""
        left = sorted(p for p in self.directory.glob("gen-*") if p.is_dir())
        if not left:
            raise IndexStoreError(f"The policy index in {self.directory} names generation {missing}, "
                                  "which is gone, and no other is left; rebuild it with "
                                  "`supportbot index --full`.")
        log.error("the live index generation is gone; serving the newest one left until the next "
                  "`supportbot index`", missing=missing, serving=left[-1].name)
        return left[-1]

    def generation(self) -> int:
        return self._refresh().generation

    def embedding_model(self) -> str | None:
        return self._refresh().embedding_model

    def count(self) -> int:
        return len(self._refresh().chunks)

    def document_hashes(self) -> dict[str, str]:
        return {c.document_id: c.content_hash for c in self._refresh().chunks}

    def document_paths(self) -> dict[str, str]:
        return {c.document_id: c.path for c in self._refresh().chunks}

    def chunks(self) -> list[Chunk]:
        return list(self._refresh().chunks)

    def search(self, query: SearchQuery) -> list[SearchHit]:
        snap = self._refresh()
        if not snap.chunks:
            return []
        allowed = np.ones(len(snap.chunks), bool) if query.audience == "staff" else snap.public_mask
        if not allowed.any():
            return []
        similarity = snap.vectors @ query.vector.astype(np.float32)
        keyword = snap.keywords.scores(query.text)
        candidates = min(query.candidates, int(allowed.sum()))
        vector_top = _top(np.where(allowed, similarity, -np.inf), candidates)
        keyword_top = _top(np.where(allowed & (keyword > 0), keyword, -np.inf), candidates)
        fused = relative_score_fusion(
            {int(i): float(keyword[i]) for i in keyword_top},
            {int(i): float(similarity[i]) for i in vector_top},
            query.alpha,
        )
        return [
            SearchHit(chunk=snap.chunks[i], score=score, similarity=float(similarity[i]),
                      keyword_score=float(keyword[i]), vector=snap.vectors[i])
            for i, score in fused[: query.limit]
        ]

    # ----- writing -------------------------------------------------------------------------

    def begin_update(self, *, full: bool = False, embedding_model: str = "") -> LocalIndexUpdate:
        return LocalIndexUpdate(self, full=full, embedding_model=embedding_model)

    def _write_generation(self, chunks: list[Chunk], vectors: np.ndarray, model: str) -> int:
        self.directory.mkdir(parents=True, exist_ok=True)
        generation = self._latest_generation_number() + 1
        name = f"gen-{generation:06d}"
        staging = self.directory / f".{name}.tmp"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        with (staging / "chunks.jsonl").open("w", encoding="utf-8") as handle:
            for chunk in chunks:
                handle.write(json.dumps(chunk.to_record(), ensure_ascii=False) + "\n")
        np.save(staging / "vectors.npy", vectors.astype(np.float32, copy=False))
        meta = {"generation": generation, "embedding_model": model, "chunks": len(chunks),
                "documents": len({c.document_id for c in chunks}), "created": time.time()}
        (staging / "meta.json").write_text(json.dumps(meta, indent=2))
        staging.rename(self.directory / name)
        pointer = self.directory / ".CURRENT.tmp"
        pointer.write_text(name + "\n")
        os.replace(pointer, self.directory / "CURRENT")  # the switch: atomic on POSIX
        self._prune(keep=name)
        return generation

    def _latest_generation_number(self) -> int:
        """The highest generation number used so far, the live one included even if it is gone."""
        names = [p.name for p in self.directory.glob("gen-*")]
        if (self.directory / "CURRENT").exists():
            names.append(self._current_name())
        numbers = [int(name[4:]) for name in names if name.startswith("gen-") and name[4:].isdigit()]
        return max(numbers, default=0)

    def _prune(self, keep: str) -> None:
        generations = sorted(p for p in self.directory.glob("gen-*") if p.is_dir())
        for old in generations[:-KEEP_GENERATIONS]:
            if old.name != keep:
                shutil.rmtree(old, ignore_errors=True)


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k best finite scores, best first; equal scores in index order.

    argpartition leaves equal scores in an order that depends on the rest of the array, whose
    last bits differ from one CPU to another, so which of two identical passages came first could
    change between machines (doc2dial has pages in two versions; README, "Quality and speed").
    """
    if k <= 0:
        return np.array([], dtype=int)
    k = min(k, len(scores))
    part = np.argpartition(-scores, k - 1)[:k]
    part = part[np.isfinite(scores[part])]
    return part[np.lexsort((part, -scores[part]))]


class LocalIndexUpdate:
    """Stages changes in memory; commit() writes a complete new generation."""

    def __init__(self, index: LocalHybridIndex, *, full: bool, embedding_model: str) -> None:
        self._index = index
        self._model = embedding_model
        self._lock_file = None
        self._acquire_writer_lock()
        snapshot = index._refresh()
        self._chunks: dict[str, Chunk] = {} if full else {c.id: c for c in snapshot.chunks}
        self._vectors: dict[str, np.ndarray] = (
            {} if full else {c.id: snapshot.vectors[i] for i, c in enumerate(snapshot.chunks)}
        )
        self._done = False

    def _acquire_writer_lock(self) -> None:
        self._index.directory.mkdir(parents=True, exist_ok=True)
        self._lock_file = open(self._index.directory / ".writer.lock", "w")
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.close()
            raise IndexStoreError("Another `supportbot index` is updating this index; wait for it "
                                  "to finish and run it again.") from None

    def upsert(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        if len(chunks) != len(vectors):
            raise ValueError("one vector per chunk")
        for chunk, vector in zip(chunks, vectors):
            self._chunks[chunk.id] = chunk
            self._vectors[chunk.id] = np.asarray(vector, dtype=np.float32)

    def delete_documents(self, document_ids: Iterable[str]) -> None:
        doomed = set(document_ids)
        for chunk_id in [cid for cid, c in self._chunks.items() if c.document_id in doomed]:
            del self._chunks[chunk_id], self._vectors[chunk_id]

    def commit(self) -> int:
        ordered = sorted(self._chunks.values(), key=lambda c: (c.document_id, c.index))
        dims = len(next(iter(self._vectors.values()))) if self._vectors else 0
        vectors = (np.stack([self._vectors[c.id] for c in ordered]) if ordered
                   else np.zeros((0, dims), dtype=np.float32))
        try:
            return self._index._write_generation(ordered, vectors, self._model)
        finally:
            self._release()

    def abort(self) -> None:
        self._release()

    def _release(self) -> None:
        self._done = True
        if self._lock_file is not None:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None

    def __enter__(self) -> LocalIndexUpdate:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        # Leaving the block without commit() (an error, a return) discards the staged changes.
        if not self._done:
            self.abort()
