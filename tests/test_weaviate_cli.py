"""Weaviate settings and the command line against the wire-protocol fake: WEAVIATE_URL selects it,
`index --tenant` fills one team's knowledge base, `ask --tenant` answers from it."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from bot import cli
from bot.settings import SettingsError, load_settings
from tests.conftest import PROMPTS, REPO
from tests.fakes.weaviate_server import FakeWeaviate

runner = CliRunner()


def test_weaviate_settings_come_from_the_conventional_variables(monkeypatch):
    assert load_settings(None).weaviate.url is None
    monkeypatch.setenv("WEAVIATE_URL", "https://abc.weaviate.cloud/")
    monkeypatch.setenv("WEAVIATE_API_KEY", "k-123")
    settings = load_settings(None)
    assert settings.weaviate.url == "https://abc.weaviate.cloud"
    assert settings.weaviate.api_key.get_secret_value() == "k-123"
    assert "k-123" not in repr(settings)
    explicit = load_settings(None, weaviate={"url": "http://weaviate:8080"})
    assert explicit.weaviate.url == "http://weaviate:8080"  # the settings section wins


def test_bad_weaviate_settings_say_what_to_fix(monkeypatch):
    monkeypatch.setenv("SUPPORTBOT_WEAVIATE__COLLECTION", "lower-case")
    with pytest.raises(SettingsError, match=r"weaviate\.collection.*SUPPORTBOT_WEAVIATE__COLLECTION"):
        load_settings(None)


@pytest.fixture
def tenant_workdir(tmp_path, monkeypatch, embeddings):
    """A checkout whose knowledge folders are per team: knowledge/<team>/public."""
    kb = tmp_path / "knowledge" / "T0ALPHA" / "public"
    kb.mkdir(parents=True)
    shutil.copy(REPO / "config" / "knowledge" / "public" / "returns-and-refunds.md", kb)  # small: fast
    shutil.copytree(PROMPTS, tmp_path / "prompts")
    (tmp_path / "supportbot.toml").write_text(
        '[[knowledge]]\npath = "knowledge/{tenant}/public"\naudience = "public"\n'
        '[weaviate]\nmulti_tenancy = true\ncollection = "SbtestCli"\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SUPPORTBOT_CONFIG", str(tmp_path / "supportbot.toml"))
    monkeypatch.setattr("bot.wiring.build_embeddings", lambda _settings: embeddings)
    with FakeWeaviate() as fake:
        monkeypatch.setenv("WEAVIATE_URL", fake.url)
        monkeypatch.setenv("SUPPORTBOT_WEAVIATE__GRPC_PORT", str(fake.grpc_port))
        yield fake


def test_index_and_ask_for_one_team(tenant_workdir):
    indexed = runner.invoke(cli.app, ["index", "--tenant", "T0ALPHA"])
    assert indexed.exit_code == 0, indexed.output
    assert "Index generation 1" in indexed.output
    collection = tenant_workdir.state.aliases["SbtestCli"]
    assert set(tenant_workdir.state.collections[collection].shards) == {"T0ALPHA--g1"}

    asked = runner.invoke(cli.app, ["ask", "--json", "--tenant", "T0ALPHA", "Can I return an opened item?"])
    assert asked.exit_code == 0, asked.output
    answer = json.loads(asked.stdout)
    assert answer["grounded"] and answer["generation"] == 1
    assert any("Returns" in s["title"] for s in answer["sources"])


def test_index_without_a_team_is_refused_with_a_clear_message(tenant_workdir):
    result = runner.invoke(cli.app, ["index"])
    assert result.exit_code == 2
    assert "--tenant" in result.output
