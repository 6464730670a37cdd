"""Indexing throughput on the doc2dial corpus: cold, then again with nothing changed.

Also sweeps the embedding settings on the same chunks in the same run: batch sizes
(embeddings.batch_size) and onnxruntime thread counts, alternating, several rounds. Exits 1 unless
the cold index embedded every chunk it holds and the unchanged reindexes embedded none.

    .venv/bin/python bench/index_throughput.py [--corpus PATH] [--docs N] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.checks import require, spread  # noqa: E402
from bot.logs import configure_logging  # noqa: E402

configure_logging("WARNING")  # figures on stdout, no per-answer log lines

from bot.knowledge.embeddings import MiniLMOnnxEmbeddings  # noqa: E402
from bot.knowledge.indexer import reindex  # noqa: E402
from bot.knowledge.stores.local import LocalHybridIndex  # noqa: E402
from bot.settings import KnowledgeSource, load_settings  # noqa: E402

DEFAULT_CORPUS = REPO / "eval" / "data" / "doc2dial" / "corpus.jsonl"


def slice_corpus(corpus: Path, docs: int | None, folder: Path) -> Path:
    if not docs:
        return corpus
    target = folder / "corpus.jsonl"
    lines = [line for line in corpus.read_text(encoding="utf-8").splitlines() if line.strip()]
    target.write_text("\n".join(lines[:docs]) + "\n", encoding="utf-8")
    return target


def sweep_embedders(texts: list[str], rounds: int, batch_sizes: list[int], threads: list[int]) -> None:
    """Chunks/s of the bundled model at each batch size and onnxruntime thread count (0: its
    default, one per core), on the same chunks, configurations alternating within each round."""
    models = {(b, t): MiniLMOnnxEmbeddings(batch_size=b, threads=t or None) for b in batch_sizes for t in threads}
    for model in models.values():
        model.embed_array(texts[:8])  # warm-up
    rates: dict[tuple[int, int], list[float]] = {key: [] for key in models}
    for _ in range(rounds):
        for key, model in models.items():
            started = time.perf_counter()
            vectors = model.embed_array(texts)
            rates[key].append(len(texts) / (time.perf_counter() - started))
            require(vectors.shape == (len(texts), model.dimensions) and bool((vectors != 0).any(axis=1).all()),
                    f"batch {key[0]}, threads {key[1]}: {vectors.shape} vectors for {len(texts)} chunks")
    print(f"\nembedding {len(texts)} chunks, {rounds} alternating rounds, chunks/s (min / median / max):")
    for (batch, thread), values in rates.items():
        print(f"  batch {batch:3d}, threads {thread or 'default':>7}   {spread(values, 'chunks/s', 1)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--docs", type=int, default=None, help="only the first N documents")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sample", type=int, default=192, help="chunks in the embedder comparison")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 4, 8, 16, 32])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2, 0], help="0: onnxruntime's default")
    args = parser.parse_args()
    if not args.corpus.is_file():
        sys.exit(f"{args.corpus} does not exist; pass --corpus PATH (a JSONL corpus).")

    with tempfile.TemporaryDirectory() as tmp:
        corpus = slice_corpus(args.corpus, args.docs, Path(tmp))
        settings = load_settings(None, data_dir=Path(tmp) / "data",
                                 knowledge=[KnowledgeSource(path=corpus, audience="public")])
        embeddings = MiniLMOnnxEmbeddings(batch_size=settings.embeddings.batch_size)
        index = LocalHybridIndex(settings.index_dir)
        cold = reindex(settings, index, embeddings)
        warm = [reindex(settings, index, embeddings) for _ in range(args.rounds)]
        texts = [chunk.embedding_text() for chunk in index.chunks()]
    # What was timed is what the figures name: every chunk embedded once cold, none again after.
    require(cold.chunks_total > 0 and cold.chunks_embedded == cold.chunks_total == len(texts),
            f"cold index embedded {cold.chunks_embedded} of {cold.chunks_total} chunks; the index holds {len(texts)}")
    require(all(s.chunks_embedded == 0 for s in warm),
            f"unchanged reindexes embedded {[s.chunks_embedded for s in warm]} chunks (expected none)")

    chars = sum(len(t) for t in texts)
    print(f"corpus {corpus.name}: {cold.documents_total} documents, {cold.chunks_total} chunks, "
          f"{chars / max(len(texts), 1):.0f} characters a chunk on average")
    print(f"cold index          {cold.seconds:7.2f} s   {cold.chunks_embedded / cold.seconds:6.1f} chunks/s   "
          f"{cold.documents_total / cold.seconds:6.1f} documents/s")
    unchanged = statistics.median(s.seconds for s in warm)
    print(f"nothing changed     {unchanged:7.2f} s median of {len(warm)} "
          f"(max {max(s.seconds for s in warm):.2f} s), {sum(s.chunks_embedded for s in warm)} chunks embedded")
    print(f"ratio cold / unchanged  {cold.seconds / unchanged:.0f}x")
    step = max(1, len(texts) // args.sample)
    sweep_embedders(texts[::step][: args.sample], args.rounds, args.batch_sizes, args.threads)


if __name__ == "__main__":
    main()
