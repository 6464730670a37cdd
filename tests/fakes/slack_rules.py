"""What Slack accepts, as the test fake checks it: methods, arguments, scopes and Block Kit limits.

The facts come from tests/fakes/rules/slack.json, which scripts/extract_platform_rules.py derives
from Slack's Web API OpenAPI, its manifest schema and its reference pages (each fact names its
source). Blocks are parsed with slack_sdk's own block models; the limits those models do not check
on their own (element lengths, text types, duplicate ids) are checked here from the table.

Every check returns Slack's error as Slack sends it: `{"ok": false, "error": ...}` plus the
`errors` / `response_metadata.messages` lines Slack adds for invalid blocks and arguments.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block, BlockElement

RULES_FILE = Path(__file__).with_name("rules") / "slack.json"
MANIFEST_FILE = Path(__file__).resolve().parents[2] / "config" / "slack-manifest.yml"


@cache
def rules() -> dict[str, Any]:
    return json.loads(RULES_FILE.read_text())


def limit(name: str) -> int:
    return rules()["limits"][name]["value"]


def method(name: str) -> dict[str, Any] | None:
    return rules()["methods"].get(name)


def error(code: str, *messages: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"ok": False, "error": code, **extra}
    if messages:
        body["response_metadata"] = {"messages": [f"[ERROR] {m}" for m in messages]}
    return body


# ----- arguments ---------------------------------------------------------------------------------

# Classic methods answer a missing id with the "not found" error of that id, as Slack does.
_MISSING_AS = {"channel": "channel_not_found", "channel_id": "channel_not_found", "ts": "message_not_found",
               "message_ts": "message_not_found", "user": "user_not_found"}


def missing_arguments(name: str, args: dict[str, Any], *, in_dm: bool) -> dict[str, Any] | None:
    spec = method(name) or {}
    required = list(spec.get("required", []))
    if not in_dm:
        required += spec.get("required_outside_dm", [])
    missing = [arg for arg in required if args.get(arg) in (None, "", [])]
    if not missing:
        return None
    first = missing[0]
    if first in _MISSING_AS and first not in spec.get("required_outside_dm", []):
        return error(_MISSING_AS[first])
    return error("invalid_arguments", *(f"missing required field: {arg}" for arg in missing))


def missing_scope(name: str, granted: set[str]) -> dict[str, Any] | None:
    needed = (method(name) or {}).get("scopes", [])
    if not needed or granted & set(needed):
        return None
    return error("missing_scope", needed=needed[0], provided=",".join(sorted(granted)))


# ----- blocks ------------------------------------------------------------------------------------

def block_errors(blocks: Any) -> list[str]:
    """Every reason Slack would give for refusing these blocks, each with its JSON pointer."""
    if not isinstance(blocks, list):
        return ["must be an array [json-pointer:/blocks]"]
    problems: list[str] = []
    if len(blocks) > limit("message.blocks"):
        problems.append(f"must contain no more than {limit('message.blocks')} items [json-pointer:/blocks]")
    block_ids: set[str] = set()
    for index, block in enumerate(blocks):
        where = f"/blocks/{index}"
        problems += [f"{p} [json-pointer:{where}]" for p in _block_problems(block)]
        block_id = block.get("block_id") if isinstance(block, dict) else None
        if block_id is not None:
            if block_id in block_ids:
                problems.append(f"duplicate block_id {block_id!r} [json-pointer:{where}/block_id]")
            block_ids.add(block_id)
    return problems


def blocks_error(blocks: Any) -> dict[str, Any] | None:
    problems = block_errors(blocks)
    if not problems:
        return None
    return {"ok": False, "error": "invalid_blocks", "errors": problems,
            "response_metadata": {"messages": [f"[ERROR] {p}" for p in problems]}}


def _block_problems(block: Any) -> list[str]:
    if not isinstance(block, dict):
        return ["must be an object"]
    try:
        parsed = Block.parse(block)
        if parsed is None or type(parsed) is Block:
            return [f"unsupported block type {block.get('type')!r}"]
        parsed.validate_json()
    except SlackObjectFormationError as exc:
        return [str(exc)]
    kind = block["type"]
    problems = []
    if kind == "section" and "text" in block:
        problems += _text_problems(block["text"], limit("section.text"), "text")
    if kind == "header":
        problems += _text_problems(block.get("text"), limit("header.text"), "text", plain_only=True)
    if kind == "context":
        for n, element in enumerate(block.get("elements", [])):
            if element.get("type") in ("mrkdwn", "plain_text"):
                problems += _text_problems(element, limit("text_object.text"), f"elements/{n}")
    if kind == "actions":
        problems += _actions_problems(block.get("elements", []))
    return problems


def _text_problems(text: Any, max_chars: int, where: str, *, plain_only: bool = False) -> list[str]:
    if not isinstance(text, dict) or text.get("type") not in (("plain_text",) if plain_only
                                                               else ("plain_text", "mrkdwn")):
        return [f"must be a {'plain_text' if plain_only else 'text'} object [{where}]"]
    content = text.get("text")
    if not isinstance(content, str) or not content:
        return [f"must be more than 0 characters [{where}/text]"]
    if len(content) > max_chars:
        return [f"must be less than {max_chars + 1} characters [{where}/text]"]
    return []


def _actions_problems(elements: list[Any]) -> list[str]:
    if not elements:
        return ["must contain at least 1 item [elements]"]
    problems, action_ids = [], set()
    for n, element in enumerate(elements):
        try:
            BlockElement.parse(element).validate_json()
        except SlackObjectFormationError as exc:
            problems.append(f"{exc} [elements/{n}]")
        if element.get("type") == "button":
            problems += _text_problems(element.get("text"), limit("button.text"), f"elements/{n}/text",
                                       plain_only=True)
        action_id = element.get("action_id")
        if action_id in action_ids:
            problems.append(f"duplicate action_id {action_id!r} [elements/{n}]")
        action_ids.add(action_id)
    return problems


# ----- the app manifest --------------------------------------------------------------------------

def manifest_problems(manifest: dict[str, Any]) -> list[str]:
    """Where a manifest breaks the manifest schema's rules (unknown keys, required keys, bounds)."""
    table = rules()["manifest"]
    problems: list[str] = []

    def check(value: Any, path: str) -> None:
        rule = table.get(path or ".")
        if rule is None:
            return
        if isinstance(value, dict):
            allowed = set(rule.get("keys", []))
            if rule.get("additionalProperties") is False:
                problems.extend(f"{path}.{k}: not a manifest setting" for k in value if k not in allowed)
            problems.extend(f"{path}.{k}: required" for k in rule.get("required", []) if k not in value)
            for key, child in value.items():
                check(child, f"{path}.{key}".lstrip("."))
        elif isinstance(value, list):
            if len(value) > rule.get("maxItems", len(value)) or len(value) < rule.get("minItems", 0):
                problems.append(f"{path}: {len(value)} items, allowed {rule.get('minItems', 0)}-"
                                f"{rule.get('maxItems', '∞')}")
            for item in value:
                check(item, f"{path}[]")
        elif isinstance(value, str):
            if len(value) > rule.get("maxLength", len(value)) or len(value) < rule.get("minLength", 0):
                problems.append(f"{path}: {len(value)} characters, allowed {rule.get('minLength', 0)}-"
                                f"{rule.get('maxLength', '∞')}")

    check(manifest, "")
    return problems


def manifest() -> dict[str, Any]:
    import yaml

    return yaml.safe_load(MANIFEST_FILE.read_text())


def granted_scopes(app_manifest: dict[str, Any]) -> set[str]:
    return set(app_manifest["oauth_config"]["scopes"]["bot"])
