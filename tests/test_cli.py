"""The command line, through typer's runner, on a temporary copy of the sample data."""

import json
import shutil

import pytest
from typer.testing import CliRunner

from bot import cli
from tests.conftest import PROMPTS, REPO

runner = CliRunner()


@pytest.fixture
def workdir(tmp_path, monkeypatch, sample_root, embeddings):
    """A checkout-like folder whose index is already built (a copy of the session's)."""
    shutil.copytree(sample_root / "kb", tmp_path / "config" / "knowledge")
    shutil.copytree(PROMPTS, tmp_path / "prompts")
    shutil.copy(REPO / "config" / "supportbot.toml", tmp_path / "config" / "supportbot.toml")
    shutil.copytree(sample_root / "data" / "index", tmp_path / ".supportbot" / "index")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("bot.wiring.build_embeddings", lambda _settings: embeddings)
    return tmp_path


def test_ask_prints_answer_and_sources(workdir):
    result = runner.invoke(cli.app, ["ask", "Can I return an opened item after 30 days?"])
    assert result.exit_code == 0, result.output
    assert "Sources" in result.output and "Returns and refunds" in result.output
    assert "https://help.harborandpine.example/policies/returns" in result.output


def test_ask_json_for_off_topic_is_ungrounded_and_offers_a_human(workdir):
    result = runner.invoke(cli.app, ["ask", "--json", "What's the weather in Paris?"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["grounded"] is False and data["offer_human"] is True and data["sources"] == []
    assert data["answer_id"] and data["prompt_version"]


def test_ask_json_staff_audience_sees_staff_sources(workdir):
    result = runner.invoke(cli.app, ["ask", "--json", "--audience", "staff",
                                     "What is the approval limit for refund exceptions?"])
    data = json.loads(result.stdout)
    assert any(s["url"].startswith("https://wiki.harborandpine.example/") for s in data["sources"])


def test_index_prints_a_summary(workdir):
    result = runner.invoke(cli.app, ["index"])
    assert result.exit_code == 0, result.output
    assert "unchanged" in result.output and "Index generation" in result.output


def test_index_with_a_broken_file_indexes_the_rest_and_exits_0_unless_strict(workdir):
    kb = workdir / "config" / "knowledge" / "public"
    (kb / "broken.pdf").write_bytes(b"%PDF-1.4 not really a pdf")
    (kb / "store-hours.md").write_text("We are open nine to five on weekdays.\n")
    result = runner.invoke(cli.app, ["index"])
    assert result.exit_code == 0, result.output
    assert "Skipped files" in result.output and "broken.pdf" in result.output
    assert "is not a readable PDF" in result.output
    warnings = result.output.split("Indexed without a link or title")[1]
    assert "store-hours.md" in warnings and "url, title" in warnings
    assert "config/knowledge" not in json.loads(runner.invoke(
        cli.app, ["ask", "--json", "What are the store hours on weekdays?"]).stdout)["sources"][0]["url"]

    strict = runner.invoke(cli.app, ["index", "--strict"])
    assert strict.exit_code == 1 and "1 file(s) skipped" in strict.output


def test_index_exits_1_when_nothing_usable_was_indexed(workdir, tmp_path_factory):
    empty = tmp_path_factory.mktemp("empty-kb")
    (empty / "broken.pdf").write_bytes(b"not a pdf")
    config = workdir / "config" / "empty.toml"
    config.write_text(f'data_dir = "{tmp_path_factory.mktemp("data")}"\n'
                      f'prompts_dir = "../prompts"\n[[knowledge]]\npath = "{empty}"\n')
    result = runner.invoke(cli.app, ["index", "--config", str(config)])
    assert result.exit_code == 1 and "Nothing usable was indexed" in result.output


def test_commands_work_from_any_directory(workdir, tmp_path_factory, monkeypatch):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    monkeypatch.chdir(elsewhere)
    config = workdir / "config" / "supportbot.toml"
    result = runner.invoke(cli.app, ["prompts", "check", "--config", str(config), "--no-preview"])
    assert result.exit_code == 0, result.output
    assert contains(result.output, str(workdir / "prompts"))
    result = runner.invoke(cli.app, ["ask", "--json", "--config", str(config), "Can I return an opened item?"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["grounded"]
    assert not (elsewhere / ".supportbot").exists()  # the index is the one beside the settings file


def test_a_missing_prompt_file_is_named_by_its_absolute_path(workdir, tmp_path_factory, monkeypatch):
    (workdir / "prompts" / "system.md").unlink()
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    result = runner.invoke(cli.app, ["prompts", "check", "--config", str(workdir / "config" / "supportbot.toml")])
    assert result.exit_code == 2
    assert contains(result.output, f"{workdir / 'prompts' / 'system.md'} is missing")


def test_prompts_check_previews_each_prompt_with_sample_values(workdir):
    result = runner.invoke(cli.app, ["prompts", "check"])
    assert result.exit_code == 0, result.output
    assert "answer.md, with sample values" in result.output
    assert "Can I return an opened item after 30 days?" in result.output  # {question} filled in
    assert contains(result.output, 'title="Returns and refunds"')  # {context} as the model gets it
    assert contains(result.output, "as [n].")  # shown as text, not taken as markup
    assert "{company_name}" not in result.output.split("answer.md, with sample values")[1]


def test_prompts_check_reports_a_broken_file(workdir):
    assert runner.invoke(cli.app, ["prompts", "check"]).exit_code == 0
    (workdir / "prompts" / "answer.md").write_text("{question}")
    result = runner.invoke(cli.app, ["prompts", "check"])
    assert result.exit_code == 2
    assert "answer.md" in result.output and "{context}" in result.output


def test_bad_settings_give_a_message_not_a_traceback(workdir, monkeypatch):
    monkeypatch.setenv("SUPPORTBOT_RETRIEVAL__ALPHA", "2")
    result = runner.invoke(cli.app, ["ask", "hello"])
    assert result.exit_code == 2 and "retrieval.alpha" in result.output
    assert "Traceback" not in result.output


def test_chat_remembers_the_thread_and_previews_escalation(workdir):
    script = "How much does the return label cost?\nand for Canada?\n/human\nAnything else?\n/quit\n"
    result = runner.invoke(cli.app, ["chat"], input=script)
    assert result.exit_code == 0, result.output
    assert "What the staff channel receives" in result.output
    assert "How much does the return label cost?" in result.output
    assert "stays quiet" in result.output


def test_chat_continues_a_thread_across_runs_with_redis(workdir, monkeypatch, redis_url):
    import uuid

    import redis

    prefix = f"test-{uuid.uuid4().hex[:12]}:"
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("SUPPORTBOT_REDIS__KEY_PREFIX", prefix)
    try:
        first = runner.invoke(cli.app, ["chat", "--thread", "t1"],
                              input="How much does the return label cost?\n/quit\n")
        assert first.exit_code == 0, first.output
        assert "Continuing thread" not in first.output
        second = runner.invoke(cli.app, ["chat", "--thread", "t1"], input="and for Canada?\n/quit\n")
        assert "Continuing thread 't1' (2 earlier messages)" in second.output
        assert "policies/returns" in second.output  # the follow-up was read with the thread
    finally:
        client = redis.Redis.from_url(redis_url)
        keys = list(client.scan_iter(match=prefix + "*"))
        if keys:
            client.delete(*keys)


def contains(output: str, expected: str) -> bool:
    """Whether the CLI said `expected`, wherever rich wrapped its lines (rich breaks a long path
    anywhere, and where depends on the temporary directory's name): compared without whitespace."""
    return "".join(expected.split()) in "".join(output.split())
