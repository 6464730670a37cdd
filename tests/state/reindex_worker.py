"""A bot worker process that starts `/reindex` and then hangs inside it, for the test that kills it.

    python -m tests.state.reindex_worker REDIS_URL KEY_PREFIX KB_DIR DATA_DIR LOCK_TTL_S

It prints "reindexing" once the job holds the lock and is embedding; embedding then never ends.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from langchain_core.embeddings import Embeddings
from pydantic import SecretStr

from tests.conftest import make_settings
from tests.helpers import build_test_bot


class EndlessEmbeddings(Embeddings):
    """Embedding that never finishes: the process is killed while it runs."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        while True:
            time.sleep(1)

    def embed_query(self, text: str) -> list[float]:
        return [1.0] + [0.0] * 383


async def main(url: str, prefix: str, kb: str, data: str, lock_ttl_s: str) -> None:
    settings = make_settings(Path(data), Path(kb))
    settings = settings.model_copy(update={
        "redis_url": SecretStr(url),
        "redis": settings.redis.model_copy(update={"key_prefix": prefix, "lock_ttl_s": float(lock_ttl_s)}),
    })
    bot = build_test_bot(settings, EndlessEmbeddings())

    async def progress(stage: str, done: int, total: int) -> None:
        if stage == "embed":
            print("reindexing", flush=True)

    await bot.run_reindex(requested_by="worker-1", on_progress=progress)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
