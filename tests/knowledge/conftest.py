"""Policy-index fixtures: the local store, WeaviateIndex on the wire-protocol fake, and WeaviateIndex
on a real Weaviate when WEAVIATE_URL is set (read here, before the autouse fixture hides it)."""

from __future__ import annotations

import os
import shutil
import uuid

import pytest

from bot.knowledge.stores.local import LocalHybridIndex
from bot.settings import WeaviateSettings
from tests.fakes.weaviate_server import FakeWeaviate

REAL_WEAVIATE_URL = os.environ.get("WEAVIATE_URL")
REAL_WEAVIATE_KEY = os.environ.get("WEAVIATE_API_KEY")
REAL_WEAVIATE_GRPC_PORT = os.environ.get("WEAVIATE_GRPC_PORT")
NO_REAL_WEAVIATE = "WEAVIATE_URL is not set, so the contract suite does not run against a real Weaviate"

WEAVIATE_BACKENDS = [
    "weaviate-fake",
    pytest.param("weaviate-real", marks=pytest.mark.skipif(not REAL_WEAVIATE_URL, reason=NO_REAL_WEAVIATE)),
]
BACKENDS = ["local", *WEAVIATE_BACKENDS]


@pytest.fixture(scope="module")
def fake_weaviate():
    with FakeWeaviate() as fake:
        yield fake


def unique_collection() -> str:
    return f"Sbtest{uuid.uuid4().hex[:10]}"


def fake_settings(fake: FakeWeaviate, **overrides) -> WeaviateSettings:
    return WeaviateSettings(url=fake.url, grpc_port=fake.grpc_port,
                            collection=overrides.pop("collection", unique_collection()), **overrides)


def real_settings(**overrides) -> WeaviateSettings:
    return WeaviateSettings(url=REAL_WEAVIATE_URL, api_key=REAL_WEAVIATE_KEY,
                            grpc_port=int(REAL_WEAVIATE_GRPC_PORT) if REAL_WEAVIATE_GRPC_PORT else None,
                            collection=overrides.pop("collection", unique_collection()), **overrides)


def drop_everything(store) -> None:
    """Remove what a test created in a (real) Weaviate: the alias, its collections, the metadata."""
    client, alias = store.client, store.alias
    found = client.alias.get(alias_name=alias)
    client.alias.delete(alias_name=alias)
    for name in client.collections.list_all(simple=True):
        if name.startswith(f"{alias}_v") or name == f"{alias}Meta" or (found and name == found.collection):
            client.collections.delete(name)


class IndexFactory:
    """Makes indexes of one backend; the same knowledge base when called again (a restart)."""

    def __init__(self, backend: str, tmp_path, fake: FakeWeaviate | None) -> None:
        self.backend, self.tmp_path, self.fake = backend, tmp_path, fake
        self.collection = unique_collection()
        self.stores: list = []

    def settings(self, **overrides) -> WeaviateSettings:
        overrides.setdefault("collection", self.collection)
        if self.backend == "weaviate-fake":
            return fake_settings(self.fake, **overrides)
        return real_settings(**overrides)

    def store(self, **overrides):
        from bot.knowledge.stores.weaviate.store import WeaviateStore

        store = WeaviateStore(self.settings(**overrides))
        self.stores.append(store)
        return store

    def __call__(self, tenant: str | None = None, **overrides):
        if self.backend == "local":
            return LocalHybridIndex(self.tmp_path / "index")
        return self.store(**overrides).index_for(tenant)

    def lose_live_generation(self) -> None:
        """What an operator's mistake or a half-restored backup does: the live data is gone.
        Weaviate keeps the alias pointing at the deleted collection."""
        if self.backend == "local":
            directory = self.tmp_path / "index"
            shutil.rmtree(directory / (directory / "CURRENT").read_text().strip())
            return
        client = self.stores[0].client
        client.collections.delete(client.alias.get(alias_name=self.collection).collection)

    def close(self) -> None:
        if self.backend == "weaviate-real" and self.stores:
            drop_everything(self.stores[0])
        for store in self.stores:
            store.close()


def _factory(request, tmp_path):
    fake = request.getfixturevalue("fake_weaviate") if request.param == "weaviate-fake" else None
    factory = IndexFactory(request.param, tmp_path, fake)
    yield factory
    factory.close()
    if fake is not None:
        fake.state.search_latency_s = 0.0


@pytest.fixture(params=BACKENDS)
def make_index(request, tmp_path):
    yield from _factory(request, tmp_path)


@pytest.fixture(params=WEAVIATE_BACKENDS)
def make_weaviate_index(request, tmp_path):
    """The Weaviate backends only: for what the local index has no counterpart of."""
    yield from _factory(request, tmp_path)
