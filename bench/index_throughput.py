"""Indexing throughput on the doc2dial corpus: a cold index, then the same run with nothing changed.

    .venv/bin/python bench/index_throughput.py
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from common import corpus_settings, quiet  # noqa: I001  (sets up sys.path)

from bot.knowledge.embeddings import build_embeddings
from bot.knowledge.indexer import reindex
from bot.knowledge.local_store import LocalHybridIndex


def main() -> None:
    quiet()
    workdir = Path(tempfile.mkdtemp(prefix="supportbot-bench-index-"))
    try:
        settings = corpus_settings(workdir / "data")
        embeddings = build_embeddings(settings.embeddings)
        index = LocalHybridIndex(settings.index_dir)
        cold = reindex(settings, index, embeddings)
        warm = reindex(settings, index, embeddings)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"doc2dial corpus: {cold.documents_total} documents, {cold.chunks_total} chunks")
    print(f"cold:      {cold.seconds:7.2f} s  ({cold.chunks_embedded / cold.seconds:.1f} chunks/s, "
          f"{cold.documents_total / cold.seconds:.1f} documents/s)")
    print(f"unchanged: {warm.seconds:7.2f} s  ({warm.chunks_embedded} chunks embedded, "
          f"{warm.unchanged} documents unchanged)")
    print(f"unchanged / cold: {warm.seconds / cold.seconds:.4f}")


if __name__ == "__main__":
    main()
