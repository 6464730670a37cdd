"""The app manifest asks for exactly what the code uses: no missing and no extra scopes."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tests.conftest import REPO

MANIFEST = yaml.safe_load((REPO / "config" / "slack-manifest.yml").read_text())
SOURCE = "\n".join(p.read_text() for p in (REPO / "adapters" / "slack").rglob("*.py"))

# Which scope each Web API method and event needs (Slack's method and event reference pages).
SCOPE_OF_METHOD = {"chat_postMessage": "chat:write", "chat_update": "chat:write",
                   "chat_postEphemeral": "chat:write", "chat_stream": "chat:write",
                   "chat_getPermalink": None, "set_status": "assistant:write",
                   "set_suggested_prompts": "assistant:write"}
SCOPE_OF_EVENT = {"app_mention": "app_mentions:read", "message.channels": "channels:history",
                  "message.groups": "groups:history", "message.im": "im:history",
                  "assistant_thread_started": "assistant:write"}


def test_slash_commands_match_the_listeners():
    registered = set(re.findall(r'@app\.command\("(/[a-z]+)"\)', SOURCE))
    assert {c["command"] for c in MANIFEST["features"]["slash_commands"]} == registered == {"/ask", "/reindex"}


def test_scopes_are_exactly_those_the_calls_and_events_need():
    called = {m for m in SCOPE_OF_METHOD if re.search(rf"\b{m}\(", SOURCE)}
    assert called == set(SCOPE_OF_METHOD)  # every method listed is really called
    events = MANIFEST["settings"]["event_subscriptions"]["bot_events"]
    needed = ({SCOPE_OF_METHOD[m] for m in called} | {SCOPE_OF_EVENT[e] for e in events} | {"commands"}) - {None}
    assert set(MANIFEST["oauth_config"]["scopes"]["bot"]) == needed


def test_events_are_those_the_listeners_handle():
    events = set(MANIFEST["settings"]["event_subscriptions"]["bot_events"])
    assert re.search(r'@app\.event\("app_mention"\)', SOURCE) and "app_mention" in events
    assert re.search(r'@app\.event\("message"\)', SOURCE)
    assert {"message.channels", "message.groups", "message.im"} <= events
    assert "@assistant.thread_started" in SOURCE and "assistant_thread_started" in events
    assert MANIFEST["settings"]["interactivity"]["is_enabled"] is True
    assert MANIFEST["settings"]["socket_mode_enabled"] is True
