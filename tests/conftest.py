"""Shared fixtures: settings on a temporary data directory and a small knowledge base.

The embedding model loads once per session; a copy of the sample knowledge base indexed once per
session serves the read-only tests, and tests that edit documents get their own small one.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.knowledge.embeddings import build_embeddings
from bot.settings import EmbeddingSettings, KnowledgeSource, load_settings

REPO = Path(__file__).resolve().parents[1]
SAMPLE_KB = REPO / "config" / "knowledge"
PROMPTS = REPO / "prompts"
STAFF_CANARY = "HP-EXC-7731"


@pytest.fixture(autouse=True)
def _no_real_keys(monkeypatch):
    # Tests never reach a real API, whatever the developer's shell exports.
    for name in ("ANTHROPIC_API_KEY", "SUPPORTBOT_ANTHROPIC_API_KEY", "SUPPORTBOT_CONFIG",
                 "WEAVIATE_URL", "WEAVIATE_API_KEY"):
        monkeypatch.delenv(name, raising=False)


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
