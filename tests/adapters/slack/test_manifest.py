"""The app manifest follows Slack's manifest schema and asks for exactly what the code uses.

Which scope each Web API method and event needs comes from tests/fakes/rules/slack.json (Slack's
OpenAPI and reference pages), so a new call without its scope fails here, as it would in Slack.
"""

from __future__ import annotations

import copy
import re

from tests.conftest import REPO
from tests.fakes.slack_rules import manifest, manifest_problems, method, rules

MANIFEST = manifest()
SOURCE = "\n".join(p.read_text() for p in (REPO / "adapters" / "slack").rglob("*.py"))
# slack_sdk helpers that stand for Web API methods.
HELPERS = {"chat_stream": ["chat.startStream", "chat.appendStream", "chat.stopStream"],
           "set_suggested_prompts": ["assistant.threads.setSuggestedPrompts"], "say": ["chat.postMessage"]}


def called_methods() -> set[str]:
    calls = set(re.findall(r"\.((?:chat|assistant_threads|auth|apps|conversations|users|views)_\w+)\(", SOURCE))
    found = {name.replace("_", ".") for name in calls if name not in HELPERS}
    for helper, methods in HELPERS.items():
        if re.search(rf"\b(?:await |\.){helper}\(", SOURCE):
            found |= set(methods)
    return found


def test_the_manifest_follows_the_manifest_schema():
    assert manifest_problems(MANIFEST) == []


def test_new_apps_get_the_agent_messaging_experience():
    assert "agent_view" in MANIFEST["features"] and "assistant_view" not in MANIFEST["features"]
    events = set(MANIFEST["settings"]["event_subscriptions"]["bot_events"])
    assert {"app_home_opened", "app_context_changed"} <= events and "assistant_thread_started" not in events


def test_the_documented_assistant_variant_is_valid_too():
    """What the manifest's comment tells an existing Assistant app to change."""
    variant = copy.deepcopy(MANIFEST)
    description = variant["features"].pop("agent_view")["agent_description"]
    variant["features"]["assistant_view"] = {"assistant_description": description}
    events = variant["settings"]["event_subscriptions"]["bot_events"]
    events[:] = [e for e in events if e not in ("app_home_opened", "app_context_changed")] + ["assistant_thread_started"]
    assert manifest_problems(variant) == []
    assert "assistant.threads.setSuggestedPrompts" in called_methods()  # the greeting's prompts


def test_the_schema_check_catches_mistakes():
    broken = copy.deepcopy(MANIFEST)
    broken["features"]["agent_view"]["agent_description"] = "x" * 301
    broken["features"]["agent_view"]["suggested_prompts"] = [{"title": "t", "message": "m"}] * 5
    broken["settings"]["sockets_mode_enabled"] = True
    problems = manifest_problems(broken)
    assert len(problems) == 3, problems


def test_slash_commands_match_the_listeners():
    registered = set(re.findall(r'@app\.command\("(/[a-z]+)"\)', SOURCE))
    assert {c["command"] for c in MANIFEST["features"]["slash_commands"]} == registered == {"/ask", "/reindex"}


def test_every_method_called_exists_in_slacks_api():
    called = called_methods()
    assert {"chat.postMessage", "chat.update", "chat.startStream", "assistant.threads.setStatus"} <= called
    assert [m for m in called if method(m) is None] == []


def test_scopes_are_exactly_those_the_calls_and_events_need():
    granted = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    events = rules()["events"]
    needed: set[str] = {"commands"}  # slash commands
    for name in called_methods():
        if method(name).get("token") == "app":
            continue  # apps.connections.open: the app-level token's connections:write, not a bot scope
        scopes = method(name)["scopes"]
        assert not scopes or granted & set(scopes), f"{name} needs one of {scopes}"
        needed |= set(scopes[:1])  # the first listed is the one Slack is moving to
    for event in MANIFEST["settings"]["event_subscriptions"]["bot_events"]:
        needed |= set(events[event])
    needed |= {"assistant:write"}  # setSuggestedPrompts accepts only it
    assert granted == needed


def test_events_are_those_the_listeners_handle():
    events = set(MANIFEST["settings"]["event_subscriptions"]["bot_events"])
    for event in ("app_mention", "app_home_opened", "app_context_changed"):
        assert event in events and re.search(rf'@app\.event\("{event}"\)', SOURCE), event
    assert re.search(r'@app\.event\("message"\)', SOURCE)
    assert {"message.channels", "message.groups", "message.im"} <= events
    assert "@assistant.thread_started" in SOURCE  # for apps on slack.experience = "assistant"
    assert MANIFEST["settings"]["interactivity"]["is_enabled"] is True
    assert MANIFEST["settings"]["socket_mode_enabled"] is True
