"""Peak memory (RSS) of a bot process with the doc2dial index loaded and answering.

The index is built by a child process first (embedding is the memory-hungry step, and a serving
worker does not do it), then this process loads it and answers; the peak is printed after each
step, and the child's peak beside it.

    .venv/bin/python bench/peak_rss.py
"""

from __future__ import annotations

import asyncio
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from common import corpus_settings, quiet  # noqa: I001  (sets up sys.path)


def peak_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux reports KiB


def index_only(data_dir: Path) -> None:
    from bot.wiring import build_bot

    summary = build_bot(corpus_settings(data_dir), answerer=None, long_running=False).reindex()
    print(f"{summary.chunks_total} chunks")


def main() -> None:
    quiet()
    if len(sys.argv) == 3 and sys.argv[1] == "--index-only":
        return index_only(Path(sys.argv[2]))
    from bot.types import ConversationKey, Inquiry
    from bot.wiring import build_bot

    workdir = Path(tempfile.mkdtemp(prefix="supportbot-bench-rss-"))
    try:
        built = subprocess.run([sys.executable, __file__, "--index-only", str(workdir / "data")],
                               check=True, capture_output=True, text=True).stdout.strip()
        steps = [("imports", peak_mb())]
        bot = build_bot(corpus_settings(workdir / "data"), answerer=None, long_running=False)
        steps.append(("embedding model and index", peak_mb()))

        async def ask() -> None:
            await bot.answer(Inquiry(text="How do I renew my driver license?", user_id="bench",
                                     conversation=ConversationKey("bench", "c", "t")))

        asyncio.run(ask())
        steps.append((f"one answer ({built})", peak_mb()))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    for name, mb in steps:
        print(f"serving process, peak RSS after {name:<32} {mb:8.1f} MB")
    print(f"indexing process (embeds every chunk), peak RSS             {peak_mb(resource.RUSAGE_CHILDREN):8.1f} MB")


if __name__ == "__main__":
    main()
