"""Write the rule tables the Slack and Discord test fakes enforce, from the platforms' own specs.

    python scripts/extract_platform_rules.py ../shared/specs

reads Slack's Web API OpenAPI and app-manifest JSON Schema, Discord's OpenAPI and its .mdx
reference pages, and writes tests/fakes/rules/slack.json and tests/fakes/rules/discord.json.
Each fact in a table names where it came from. The fakes load these tables at run time and never
the specs, so a clone without the specs still runs its tests; re-run this script when the specs
are refreshed and read the diff.

Some facts are not in the spec files: Slack's OpenAPI predates the streaming and assistant
methods and Socket Mode, and Block Kit limits live only in Slack's reference pages. Those are
stated below in DOCS_* with the page each one was read from (checked on the date in the header).
Where a spec and a reference page disagree (Discord's schema allows 4,000 characters of content,
its message page says 2,000 for an app's message) the stricter documented limit wins and both
are recorded.
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "tests" / "fakes" / "rules"
DOCS_CHECKED = "2026-11-28"

# ----- Slack: facts from docs.slack.dev that the OpenAPI file does not carry ---------------------

DOCS_METHODS: dict[str, dict[str, Any]] = {
    "chat.startStream": {
        "required": ["channel"], "scopes": ["chat:write"],
        "required_outside_dm": ["recipient_team_id", "recipient_user_id"],
        "errors": ["channel_not_found", "invalid_arguments", "msg_too_long", "not_in_channel"],
        "source": "https://docs.slack.dev/reference/methods/chat.startStream"},
    "chat.appendStream": {
        "required": ["channel", "ts"], "scopes": ["chat:write"],
        "errors": ["channel_not_found", "message_not_found", "message_not_in_streaming_state",
                   "msg_too_long", "invalid_arguments"],
        "source": "https://docs.slack.dev/reference/methods/chat.appendStream"},
    "chat.stopStream": {
        "required": ["channel", "ts"], "scopes": ["chat:write"],
        "errors": ["channel_not_found", "message_not_found", "message_not_in_streaming_state",
                   "invalid_blocks", "msg_too_long"],
        "source": "https://docs.slack.dev/reference/methods/chat.stopStream"},
    "assistant.threads.setStatus": {
        # Either scope is accepted "for the time being"; chat:write is where Slack is heading.
        "required": ["channel_id", "thread_ts", "status"], "scopes": ["chat:write", "assistant:write"],
        "errors": ["channel_not_found", "invalid_thread_ts", "invalid_arguments"],
        "source": "https://docs.slack.dev/reference/methods/assistant.threads.setStatus"},
    "assistant.threads.setSuggestedPrompts": {
        "required": ["channel_id", "prompts"], "scopes": ["assistant:write"],
        "errors": ["channel_not_found", "invalid_thread_ts", "invalid_arguments"],
        "note": "thread_ts only in the assistant experience: with agent_view a call that names one "
                "fails silently (ok, but no prompts are shown)",
        "source": "https://docs.slack.dev/reference/methods/assistant.threads.setSuggestedPrompts"},
    "assistant.threads.setTitle": {
        "required": ["channel_id", "thread_ts", "title"], "scopes": ["assistant:write"],
        "errors": ["channel_not_found", "invalid_thread_ts"],
        "source": "https://docs.slack.dev/reference/methods/assistant.threads.setTitle"},
    "apps.connections.open": {
        "required": [], "scopes": ["connections:write"], "token": "app",
        "errors": ["invalid_auth", "not_authed"],
        "source": "https://docs.slack.dev/reference/methods/apps.connections.open"},
}

DOCS_LIMITS: dict[str, tuple[int, str]] = {
    "message.blocks": (50, "https://docs.slack.dev/reference/block-kit/blocks"),
    "message.text": (40000, "https://docs.slack.dev/reference/methods/chat.postMessage (text is truncated "
                            "past 40,000 characters; msg_too_long)"),
    "text_object.text": (3000, "https://docs.slack.dev/reference/block-kit/composition-objects/text-object"),
    "section.text": (3000, "https://docs.slack.dev/reference/block-kit/blocks/section-block"),
    "header.text": (150, "https://docs.slack.dev/reference/block-kit/blocks/header-block"),
    "context.elements": (10, "https://docs.slack.dev/reference/block-kit/blocks/context-block"),
    "actions.elements": (25, "https://docs.slack.dev/reference/block-kit/blocks/actions-block"),
    "block_id": (255, "https://docs.slack.dev/reference/block-kit/blocks"),
    "button.text": (75, "https://docs.slack.dev/reference/block-kit/block-elements/button-element"),
    "button.action_id": (255, "https://docs.slack.dev/reference/block-kit/block-elements/button-element"),
    "button.value": (2000, "https://docs.slack.dev/reference/block-kit/block-elements/button-element"),
    "stream.markdown_text": (12000, "https://docs.slack.dev/reference/methods/chat.appendStream"),
    "suggested_prompts": (4, "https://docs.slack.dev/reference/methods/assistant.threads.setSuggestedPrompts"),
}

# Events the bot subscribes to, with the scope each needs (Slack's event reference pages).
DOCS_EVENTS: dict[str, Any] = {
    "app_mention": ["app_mentions:read"],
    "message.channels": ["channels:history"],
    "message.groups": ["groups:history"],
    "message.im": ["im:history"],
    "app_home_opened": [],
    "app_context_changed": [],  # delivered only with features.agent_view
    "assistant_thread_started": ["assistant:write"],
    "assistant_thread_context_changed": ["assistant:write"],
    "source": "https://docs.slack.dev/reference/events (one page per event); agent_view: "
              "https://docs.slack.dev/ai/migrating-to-agent-messaging",
}


# Methods the bot calls: their documented errors are kept too (the rest would only bloat the table).
BOT_METHODS = ("auth.test", "chat.postMessage", "chat.update", "chat.postEphemeral", "chat.getPermalink",
               "chat.delete")


def slack_methods(spec: dict[str, Any]) -> dict[str, Any]:
    """Every method in the OpenAPI file: HTTP verb, required arguments, scopes; documented errors for
    the methods the bot calls."""
    methods = {}
    for path, verbs in sorted(spec["paths"].items()):
        for verb, op in verbs.items():
            params = op.get("parameters", [])
            token = next((p for p in params if p["name"] == "token"), {})
            scope = re.search(r"Requires scope: `([^`]+)`", token.get("description", ""))
            error_schema = (op.get("responses", {}).get("default", {}).get("schema", {})
                            .get("properties", {}).get("error", {}))
            name = path.lstrip("/")
            methods[name] = {
                "verb": verb.upper(),
                "required": sorted(p["name"] for p in params if p.get("required") and p["name"] != "token"),
                "scopes": [] if not scope or scope.group(1) == "none" else [scope.group(1)],
            }
            if name in BOT_METHODS:
                methods[name]["errors"] = error_schema.get("enum", [])
    return methods


# Manifest sections for Slack-hosted (Deno) apps: not ours, so only their presence is checked.
SKIPPED_MANIFEST_SECTIONS = {"features.functions", "features.workflow_steps", "functions", "workflows",
                             "types", "datastores", "outgoing_domains", "external_auth_providers",
                             "compliance", "app_directory", "metadata", "mcp_servers"}


def manifest_rules(schema: dict[str, Any]) -> dict[str, Any]:
    """The manifest schema flattened to dotted paths: allowed keys, required keys and bounds."""
    defs = schema["definitions"]
    rules: dict[str, Any] = {}

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            node = defs[node["$ref"].rsplit("/", 1)[1]]
        return node

    def walk(node: dict[str, Any], path: str, depth: int) -> None:
        node = resolve(node)
        rule = {k: node[k] for k in ("type", "maxLength", "minLength", "maxItems", "minItems", "pattern",
                                      "required", "enum", "additionalProperties") if k in node
                and not isinstance(node[k], dict)}
        if "properties" in node:
            rule["keys"] = sorted(node["properties"])
        if rule:
            rules[path or "."] = rule
        if depth == 0 or path in SKIPPED_MANIFEST_SECTIONS:
            return
        for key, child in node.get("properties", {}).items():
            walk(child, f"{path}.{key}".lstrip("."), depth - 1)
        if "items" in node and isinstance(node["items"], dict):
            walk(node["items"], f"{path}[]", depth - 1)

    walk({"properties": schema["properties"], "required": schema.get("required", []),
          "additionalProperties": schema.get("additionalProperties", True)}, "", 5)
    return rules


# ----- Discord: facts read from the OpenAPI schemas and the .mdx reference pages -----------------

# (name, mdx file, pattern whose groups are the fact, how to read the groups)
MDX_FACTS: list[tuple[str, str, str]] = [
    ("message.content.max", "message.mdx", r"Message contents \(up to (\d+) characters\)"),
    ("message.action_rows.max", "components.mdx", r"Legacy messages allow up to (\d+) action rows"),
    ("action_row.buttons.max", "components.mdx", r"An Action Row can contain up to (\d+) Buttons"),
    ("button.label.max", "components.mdx", r"Text that appears on the button; max (\d+) characters"),
    ("button.custom_id.range", "components.mdx", r"identifier for the button; (\d+)-(\d+) characters"),
    ("button.url.max", "components.mdx", r"URL for link-style buttons; max (\d+) characters"),
    ("thread.auto_archive_duration", "channel.mdx",
     r"`auto_archive_duration` minutes of inactivity, can be set to: ([\d, ]+)"),
    ("interaction.token_minutes", "interactions.mdx", r"tokens` are valid for \*\*(\d+) minutes\*\*"),
    ("interaction.initial_response_seconds", "interactions.mdx", r"initial response within (\d+) seconds"),
    ("custom_id.unique", "components.mdx",
     r"(Multiple components on the same message must not share the same `custom_id`)"),
]

DISCORD_SCHEMA_FACTS: dict[str, tuple[str, str]] = {
    # name: (schema, JSON pointer inside it)
    "message.content.schema_max": ("MessageCreateRequest", "/properties/content/maxLength"),
    "message.components.schema_max": ("MessageCreateRequest", "/properties/components/maxItems"),
    "message.embeds.max": ("MessageCreateRequest", "/properties/embeds/maxItems"),
    "action_row.components.max": ("ActionRowComponentForMessageRequest", "/properties/components/maxItems"),
    "action_row.components.min": ("ActionRowComponentForMessageRequest", "/properties/components/minItems"),
    "button.label.schema_max": ("ButtonComponentForMessageRequest", "/properties/label/maxLength"),
    "button.custom_id.schema_max": ("ButtonComponentForMessageRequest", "/properties/custom_id/maxLength"),
    "thread.name.min": ("CreateTextThreadWithMessageRequest", "/properties/name/minLength"),
    "thread.name.max": ("CreateTextThreadWithMessageRequest", "/properties/name/maxLength"),
    "command.name.max": ("ApplicationCommandUpdateRequest", "/properties/name/maxLength"),
    "command.description.max": ("ApplicationCommandUpdateRequest", "/properties/description/maxLength"),
}


def discord_routes(spec: dict[str, Any]) -> list[str]:
    """Every route as "VERB /path/{param}", with each path parameter written {id} or {token}."""
    routes = []
    for path, item in spec["paths"].items():
        template = re.sub(r"\{[a-z_]*token\}", "{token}", path)
        template = re.sub(r"\{(?!token\})[a-z_]+\}", "{id}", template)
        routes += [f"{verb.upper()} {template}" for verb in item if verb != "parameters"]
    return sorted(set(routes))


def schema_consts(schema: dict[str, Any]) -> dict[str, int]:
    return {choice["title"]: choice["const"] for choice in schema["oneOf"]}


def pointer(node: Any, path: str) -> Any:
    for part in path.strip("/").split("/"):
        node = node[part]
    return node


def discord_rules(spec: dict[str, Any], specs_dir: Path) -> dict[str, Any]:
    schemas = spec["components"]["schemas"]
    facts: dict[str, Any] = {}
    for name, (schema, path) in DISCORD_SCHEMA_FACTS.items():
        facts[name] = {"value": pointer(schemas[schema], path), "source": f"discord_openapi.json {schema}{path}"}
    for name, file, pattern in MDX_FACTS:
        lines = (specs_dir / file).read_text().splitlines()
        found = next(((n, m) for n, line in enumerate(lines, 1) if (m := re.search(pattern, line))), None)
        if found is None:
            sys.exit(f"{file}: no longer says {pattern!r}: read the page and update MDX_FACTS")
        number, match = found
        groups = [g for g in match.groups()]
        value: Any = ([int(v) for v in groups[0].replace(" ", "").split(",")] if "," in groups[0]
                      else [int(g) for g in groups] if len(groups) > 1 else
                      int(groups[0]) if groups[0].isdigit() else True)
        facts[name] = {"value": value, "source": f"{file}:{number}"}
    facts["button.styles"] = {"value": schema_consts(schemas["ButtonStyleTypes"]),
                              "source": "discord_openapi.json ButtonStyleTypes"}
    facts["interaction.callback_types"] = {"value": schema_consts(schemas["InteractionCallbackTypes"]),
                                           "source": "discord_openapi.json InteractionCallbackTypes"}
    facts["thread.auto_archive_duration.schema"] = {
        "value": sorted(schema_consts(schemas["ThreadAutoArchiveDuration"]).values()),
        "source": "discord_openapi.json ThreadAutoArchiveDuration"}
    return facts


# ----- main ------------------------------------------------------------------------------------

def header(sources: list[dict[str, str]]) -> dict[str, Any]:
    return {"generated_by": "scripts/extract_platform_rules.py", "extracted": datetime.date.today().isoformat(),
            "docs_checked": DOCS_CHECKED, "sources": sources}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("specs", type=Path, help="folder holding the platforms' spec files")
    specs = parser.parse_args(argv).specs
    slack_spec = json.loads((specs / "slack_openapi.json").read_text())
    manifest_schema = json.loads((specs / "manifest.schema.1.0.0.json").read_text())
    discord_spec = json.loads((specs / "discord_openapi.json").read_text())

    methods = slack_methods(slack_spec)
    for name, facts in DOCS_METHODS.items():
        methods[name] = {"verb": "POST", **facts}
    slack = {
        "header": header([
            {"file": "slack_openapi.json", "from": "slackapi/slack-api-specs web-api/slack_web_openapi_v2.json",
             "version": slack_spec["info"].get("version", "")},
            {"file": "manifest.schema.1.0.0.json", "from": "slackapi/manifest-schema"},
            {"file": "docs.slack.dev reference pages", "from": "each DOCS_* fact names its page"}]),
        "methods": methods,
        "limits": {name: {"value": value, "source": source} for name, (value, source) in DOCS_LIMITS.items()},
        "events": DOCS_EVENTS,
        "manifest": manifest_rules(manifest_schema),
    }
    discord = {
        "header": header([
            {"file": "discord_openapi.json", "from": "discord/discord-api-spec specs/openapi.json",
             "version": str(discord_spec["info"].get("version", ""))},
            {"file": "message.mdx, components.mdx, channel.mdx, interactions.mdx",
             "from": "discord/discord-api-docs"}]),
        "routes": discord_routes(discord_spec),
        "limits": discord_rules(discord_spec, specs),
    }
    OUT.mkdir(parents=True, exist_ok=True)
    for name, table in (("slack.json", slack), ("discord.json", discord)):
        (OUT / name).write_text(json.dumps(table, indent=1, sort_keys=False) + "\n")
        print(f"wrote {OUT / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
