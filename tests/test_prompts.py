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
    assert "prompts/answer.md" in str(caught.value) and "{context}" in str(caught.value)


def test_unknown_placeholder_is_refused_with_the_allowed_list(prompts_copy):
    (prompts_copy / "decline.md").write_text("Sorry {customer_name}.")
    with pytest.raises(PromptError, match=r"decline\.md uses unknown placeholder\(s\) \{customer_name\}"):
        load_prompt_set(prompts_copy)


def test_broken_braces_and_empty_files_are_refused(prompts_copy):
    (prompts_copy / "system.md").write_text("Use JSON like {\"a\": 1}")
    with pytest.raises(PromptError, match="system.md"):
        load_prompt_set(prompts_copy)
    (prompts_copy / "system.md").write_text("   \n")
    with pytest.raises(PromptError, match="system.md is empty"):
        load_prompt_set(prompts_copy)


def test_missing_file_is_refused(prompts_copy):
    (prompts_copy / "rewrite.md").unlink()
    with pytest.raises(PromptError, match="rewrite.md is missing"):
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
