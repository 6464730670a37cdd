"""Peak memory (RSS) of a bot process with the doc2dial index loaded and answering.

Prints the peak after imports, after loading the embedding model, and after loading the index
and answering a question, so each step's share is visible.

    .venv/bin/python bench/peak_rss.py
"""

from __future__ import annotations

import asyncio
import resource
import shutil
import tempfile
from pathlib import Path

from common import corpus_settings, quiet  # noqa: I001  (sets up sys.path)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def main() -> None:
    quiet()
    from bot.knowledge.embeddings import build_embeddings
    from bot.types import ConversationKey, Inquiry
    from bot.wiring import build_bot

    steps = [("imports", peak_mb())]
    workdir = Path(tempfile.mkdtemp(prefix="supportbot-bench-rss-"))
    try:
        settings = corpus_settings(workdir / "data")
        embeddings = build_embeddings(settings.embeddings)
        embeddings.embed_query("warm up")
        steps.append(("embedding model", peak_mb()))
        bot = build_bot(settings, embeddings=embeddings, answerer=None, long_running=False)
        summary = bot.reindex()
        steps.append((f"indexing ({summary.chunks_total} chunks)", peak_mb()))

        async def ask() -> None:
            await bot.answer(Inquiry(text="How do I renew my driver license?", user_id="bench",
                                     conversation=ConversationKey("bench", "c", "t")))

        asyncio.run(ask())
        steps.append(("index loaded, one answer", peak_mb()))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    for name, mb in steps:
        print(f"peak RSS after {name:<28} {mb:8.1f} MB")


if __name__ == "__main__":
    main()
