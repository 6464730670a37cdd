"""Settings for Discord and `python -m adapters.discord` refusing to start without what it needs."""

from __future__ import annotations

import pytest

from adapters.discord.process import NO_HANDOVER_CHANNEL, NO_TOKEN, main
from bot.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def _no_tokens(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .env from the developer's checkout
    for name in ("DISCORD_TOKEN", "DISCORD_BOT_TOKEN", "SUPPORTBOT_DISCORD_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def test_the_token_comes_from_the_usual_variables(monkeypatch, tmp_path):
    assert load_settings(None).discord_token is None
    (tmp_path / ".env").write_text("DISCORD_BOT_TOKEN=from-dotenv\n")
    assert load_settings(None).discord_token.get_secret_value() == "from-dotenv"
    monkeypatch.setenv("DISCORD_TOKEN", "from-env")
    assert load_settings(None).discord_token.get_secret_value() == "from-env"


def test_bad_discord_settings_name_the_key(monkeypatch):
    monkeypatch.setenv("SUPPORTBOT_DISCORD__EDIT_INTERVAL_S", "0.01")
    with pytest.raises(SettingsError, match=r"discord\.edit_interval_s"):
        load_settings(None)


def test_missing_token_and_hand_over_channel_are_listed_together(capsys):
    assert main([]) == 2
    err = capsys.readouterr().err
    assert "cannot start" in err and NO_TOKEN in err and NO_HANDOVER_CHANNEL in err


def test_the_hand_over_channel_is_required_like_slacks_settings(monkeypatch, capsys):
    monkeypatch.setenv("DISCORD_TOKEN", "a-token")
    assert main([]) == 2
    err = capsys.readouterr().err
    assert NO_HANDOVER_CHANNEL in err and NO_TOKEN not in err and "a-token" not in err
