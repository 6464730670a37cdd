import os
import time

import pytest

from bot.prompts import PromptError, PromptStore, load_prompt_set


def _touch_later(path):
    # Make sure the modification stamp moves even on coarse-grained filesystems.
    stamp = time.time() + 2
    os.utime(path, (stamp, stamp))


def test_shipped_prompts_are_valid_and_versioned(prompts_copy):
    prompt_set = load_prompt_set(prompts_copy)
    assert len(prompt_set.version) == 12
    assert "{context}" in prompt_set.texts["answer.md"]


def test_missing_placeholder_names_file_and_placeholder(prompts_copy):
    (prompts_copy / "answer.md").write_text("Question: {question}\nNo passages here.")
    with pytest.raises(PromptError) as caught:
        load_prompt_set(prompts_copy)
    assert str(prompts_copy / "answer.md") in str(caught.value) and "{context}" in str(caught.value)


def test_unknown_placeholder_is_refused_with_the_allowed_list(prompts_copy):
    (prompts_copy / "decline.md").write_text("Sorry {customer_name}.")
    with pytest.raises(PromptError, match=r"decline\.md uses \{customer_name\}, which this file cannot "
                       r"use \(it may use: \{company_name\}, \{question\}\)"):
        load_prompt_set(prompts_copy)


def test_broken_braces_and_empty_files_are_refused(prompts_copy):
    (prompts_copy / "system.md").write_text("Use JSON like {\"a\": 1}")
    with pytest.raises(PromptError, match="system.md"):
        load_prompt_set(prompts_copy)
    (prompts_copy / "system.md").write_text("   \n")
    with pytest.raises(PromptError, match="system.md is empty. It should hold the bot's role and the rules"):
        load_prompt_set(prompts_copy)


@pytest.mark.parametrize("name", ["system.md", "answer.md", "rewrite.md", "decline.md", "escalation.md",
                                  "busy.md", "apology.md"])
def test_an_empty_file_gets_a_sentence_that_reads_right(prompts_copy, name):
    (prompts_copy / name).write_text("")
    with pytest.raises(PromptError) as caught:
        load_prompt_set(prompts_copy)
    message = str(caught.value)
    assert message.startswith(f"{prompts_copy / name} is empty. It should hold ")
    purpose = message.split("It should hold ", 1)[1].split(":", 1)[0]
    assert purpose.split()[0] in {"the", "what"}  # a noun phrase, never "it should hold said when …"


def test_soft_wrapped_lines_are_joined_into_paragraphs(prompts_copy):
    (prompts_copy / "escalation.md").write_text(
        "Thanks for your patience. A\nperson will follow up here.\n\nNext steps:\n- we read the\n  thread\n"
        "- we reply  \nthe same day\n\n```\nkept\nas is\n```\n")
    text = load_prompt_set(prompts_copy).texts["escalation.md"]
    assert "A person will follow up here." in text and "A\nperson" not in text
    assert "\n\nNext steps:\n- we read the thread\n- we reply  \nthe same day\n" in text  # hard break kept
    assert "```\nkept\nas is\n```" in text


def test_a_placeholder_alone_on_its_line_keeps_its_own_line(prompts_copy):
    prompt_set = load_prompt_set(prompts_copy)
    rendered = prompt_set.render("answer.md", context="[1] a", history="Customer: hi\nAssistant: hello",
                                 question="q")
    assert "The conversation so far:\n\nCustomer: hi\nAssistant: hello\n" in rendered
    assert "\n" not in prompt_set.texts["decline.md"].strip()  # a wrapped paragraph became one line


def test_rewrapping_a_paragraph_does_not_change_the_version(prompts_copy):
    before = load_prompt_set(prompts_copy).version
    path = prompts_copy / "decline.md"
    path.write_text(path.read_text().replace("\n", " ").replace("  ", " ").strip() + "\n")
    assert load_prompt_set(prompts_copy).version == before


def test_missing_file_is_refused(prompts_copy):
    (prompts_copy / "rewrite.md").unlink()
    with pytest.raises(PromptError, match=f"{prompts_copy / 'rewrite.md'} is missing"):
        load_prompt_set(prompts_copy)


def test_edits_are_picked_up_without_restart(prompts_copy):
    store = PromptStore(prompts_copy)
    first = store.current()
    (prompts_copy / "decline.md").write_text("Nothing on that in our policies, sorry.")
    _touch_later(prompts_copy / "decline.md")
    second = store.current()
    assert second.version != first.version
    assert second.render("decline.md") == "Nothing on that in our policies, sorry."


def test_bad_edit_keeps_the_last_good_set_serving(prompts_copy):
    store = PromptStore(prompts_copy)
    good = store.current()
    (prompts_copy / "answer.md").write_text("{question} only")
    _touch_later(prompts_copy / "answer.md")
    assert store.current().version == good.version
    assert "answer.md" in store.last_error and "{context}" in store.last_error
    (prompts_copy / "answer.md").write_text("{context}\n\nQ: {question}")
    _touch_later(prompts_copy / "answer.md")
    assert store.current().version != good.version and store.last_error is None


def test_a_broken_set_refuses_to_start(prompts_copy):
    (prompts_copy / "answer.md").write_text("{question}")
    with pytest.raises(PromptError):
        PromptStore(prompts_copy)
