"""Peak resident memory of a bot process with the doc2dial index loaded and answering.

Each stage runs in a fresh child process, so each peak is that stage's own: the Python runtime
with the bot's modules imported (the baseline), plus the embedding model, plus the index loaded
and 50 questions answered. The index is the one `supportbot eval` builds (built here first if
it is missing).

    .venv/bin/python bench/peak_rss.py [--corpus PATH]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.checks import require  # noqa: E402
from bot.logs import configure_logging  # noqa: E402

configure_logging("WARNING")  # figures on stdout, no per-answer log lines

DEFAULT_CORPUS = REPO / "eval" / "data" / "doc2dial" / "corpus.jsonl"
STAGES = ("imports", "model", "index+answers")


def eval_settings(corpus: Path):
    from bot.evaluation.corpus import prepare_corpus
    from bot.settings import load_settings

    _, settings = prepare_corpus(load_settings(None, data_dir=REPO / ".supportbot"), corpus, [], restrict=False)
    return settings


def child(stage: str, corpus: Path) -> None:
    """Runs in the child: do the stage, then print the peak RSS in MiB."""
    import asyncio
    import uuid

    import bot.service  # noqa: F401  (the baseline: runtime and the bot's modules)
    from bot.types import ConversationKey, Inquiry

    if stage != "imports":
        from bot.knowledge.embeddings import build_embeddings
        from bot.settings import EmbeddingSettings

        embeddings = build_embeddings(EmbeddingSettings())
        embeddings.embed_query("warm up")
    if stage == "index+answers":
        from bot.wiring import build_bot

        bot = build_bot(eval_settings(corpus), embeddings=embeddings, answerer=None)
        questions = [json.loads(line)["question"] for line, _ in
                     zip((REPO / "eval/data/doc2dial/questions_dev.jsonl").open(), range(50))]

        async def ask() -> list:
            # One user each: the rate limiter would make most of 50 questions from one user "busy".
            return [await bot.answer(Inquiry(text=text, conversation=ConversationKey("b", "c", uuid.uuid4().hex),
                                             user_id=uuid.uuid4().hex)) for text in questions]

        modes = [answer.mode for answer in asyncio.run(ask())]
        require(bot.index.count() > 0 and len(modes) == 50 and set(modes) <= {"extractive", "declined"}
                and modes.count("extractive") > 0,
                f"index of {bot.index.count()} chunks; 50 questions answered in modes {sorted(set(modes))}, "
                f"{modes.count('extractive')} from the policy text: not the work this bench names")
        print(f"chunks={bot.index.count()}", file=sys.stderr)
    print(memory_mib("VmRSS:"), memory_mib("VmHWM:"))


def memory_mib(field: str) -> float:
    # VmHWM is this process's own high-water mark (ru_maxrss would include the parent's peak,
    # which Linux carries across fork and exec); VmRSS is what it holds now.
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--child", choices=STAGES)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.corpus)
    if not args.corpus.is_file():
        sys.exit(f"{args.corpus} does not exist; pass --corpus PATH (a JSONL corpus).")

    from bot.knowledge.embeddings import build_embeddings
    from bot.knowledge.indexer import reindex
    from bot.knowledge.stores.local import LocalHybridIndex

    settings = eval_settings(args.corpus)
    index = LocalHybridIndex(settings.index_dir)
    if index.generation() == 0:
        print("building the doc2dial index first (as `supportbot eval` would)…", file=sys.stderr)
    reindex(settings, index, build_embeddings(settings.embeddings))

    peaks, resident = {}, {}
    for stage in STAGES:
        done = subprocess.run([sys.executable, __file__, "--child", stage, "--corpus", str(args.corpus)],
                              capture_output=True, text=True, check=True, cwd=REPO)
        now, peak = (float(v) for v in done.stdout.strip().splitlines()[-1].split())
        peaks[stage], resident[stage] = peak, now
    print(f"index: {settings.index_dir} ({index.count()} chunks)")
    for stage, peak in peaks.items():
        print(f"{stage:15s} peak RSS {peak:7.1f} MiB (ratio to imports {peak / peaks['imports']:.2f})   "
              f"resident at the end {resident[stage]:7.1f} MiB")
    print(f"the loaded index and 50 answers hold {resident['index+answers'] - resident['model']:.1f} MiB "
          "beyond the loaded model")


if __name__ == "__main__":
    main()
