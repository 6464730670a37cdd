import pytest

from bot.settings import SettingsError, load_settings


def test_defaults_work_without_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.retrieval.alpha == 0.5 and not settings.llm_enabled
    assert [s.audience for s in settings.knowledge] == ["public", "staff"]


def test_file_then_environment_override(tmp_path, monkeypatch):
    config = tmp_path / "bot.toml"
    config.write_text('company_name = "Acme"\n[retrieval]\nalpha = 0.3\ntop_k = 4\n')
    monkeypatch.setenv("SUPPORTBOT_RETRIEVAL__TOP_K", "9")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-123")
    settings = load_settings(config)
    assert settings.company_name == "Acme" and settings.retrieval.alpha == 0.3
    assert settings.retrieval.top_k == 9
    assert settings.llm_enabled and "sk-test-123" not in repr(settings)


def test_invalid_value_names_the_setting_and_env_variable(tmp_path):
    config = tmp_path / "bot.toml"
    config.write_text("[retrieval]\nalpha = 1.5\n")
    with pytest.raises(SettingsError) as caught:
        load_settings(config)
    message = str(caught.value)
    assert "retrieval.alpha" in message and "1.5" in message
    assert "SUPPORTBOT_RETRIEVAL__ALPHA" in message and str(config) in message


def test_typo_is_reported_as_unknown_setting(tmp_path):
    config = tmp_path / "bot.toml"
    config.write_text("[retrieval]\ntopk = 3\n")
    with pytest.raises(SettingsError, match="retrieval.topk: unknown setting"):
        load_settings(config)


def test_toml_syntax_error_names_the_file(tmp_path):
    config = tmp_path / "bot.toml"
    config.write_text("company_name = \n")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(config)


def test_missing_file_is_explained(tmp_path):
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(tmp_path / "absent.toml")


def test_overlap_must_be_smaller_than_chunk(monkeypatch):
    monkeypatch.setenv("SUPPORTBOT_CHUNKING__CHUNK_SIZE", "300")
    monkeypatch.setenv("SUPPORTBOT_CHUNKING__CHUNK_OVERLAP", "300")
    with pytest.raises(SettingsError, match="chunk_overlap must be smaller"):
        load_settings()


def test_shipped_settings_file_is_valid():
    from tests.conftest import REPO

    settings = load_settings(REPO / "config" / "supportbot.toml")
    assert settings.company_name == "Harbor & Pine Outfitters"


def test_the_default_model_and_the_shipped_one_are_not_scheduled_for_retirement():
    # The anthropic SDK lists the models Anthropic has announced it retires (and warns on each call).
    from anthropic.resources.messages.messages import DEPRECATED_MODELS

    from bot.answering.settings import LLMSettings
    from tests.conftest import REPO

    assert LLMSettings().model not in DEPRECATED_MODELS
    assert load_settings(REPO / "config" / "supportbot.toml").llm.model not in DEPRECATED_MODELS


def test_relative_paths_in_a_settings_file_are_relative_to_its_folder(tmp_path, monkeypatch):
    folder = tmp_path / "deploy" / "config"
    folder.mkdir(parents=True)
    (folder / "bot.toml").write_text('data_dir = "../state"\nprompts_dir = "/srv/prompts"\n'
                                     '[[knowledge]]\npath = "kb/public"\n')
    monkeypatch.chdir(tmp_path)  # anywhere else
    settings = load_settings("deploy/config/bot.toml")
    assert settings.data_dir == tmp_path / "deploy" / "state"
    assert str(settings.prompts_dir) == "/srv/prompts"
    assert settings.knowledge[0].path == folder / "kb" / "public"


def test_defaults_point_into_the_project_from_any_directory(tmp_path, monkeypatch):
    from bot.settings import PROJECT_ROOT

    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.prompts_dir == PROJECT_ROOT / "prompts" and (settings.prompts_dir / "system.md").is_file()
    assert all(source.path.is_dir() and source.path.is_absolute() for source in settings.knowledge)


def test_paths_from_the_environment_are_relative_to_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SUPPORTBOT_DATA_DIR", "here")
    assert load_settings().data_dir == tmp_path / "here"


def test_a_missing_settings_file_is_named_by_its_absolute_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SettingsError, match=f"Settings file {tmp_path / 'absent.toml'} does not exist"):
        load_settings("absent.toml")


@pytest.mark.parametrize("lease, budget, ttl, accepted", [
    (1.5, 0.3, 3600, True),
    (0.8, 0.3, 3600, False),  # renewed every third of the lease, each renewal may take the budget
    (60, 0.3, 60, False),  # a lease as long as the done marker would outlive it
])
def test_the_event_lease_sits_between_the_claim_budget_and_the_event_ttl(monkeypatch, lease, budget, ttl, accepted):
    monkeypatch.setenv("SUPPORTBOT_REDIS__EVENT_LEASE_S", str(lease))
    monkeypatch.setenv("SUPPORTBOT_REDIS__CLAIM_BUDGET_S", str(budget))
    monkeypatch.setenv("SUPPORTBOT_REDIS__EVENT_TTL_S", str(ttl))
    if accepted:
        assert load_settings(None).redis.event_lease_s == lease
    else:
        with pytest.raises(SettingsError, match="event_lease_s"):
            load_settings(None)
