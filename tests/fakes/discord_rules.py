"""What Discord accepts, as the test fake checks it: routes, message bodies, threads, commands.

The facts come from tests/fakes/rules/discord.json, which scripts/extract_platform_rules.py reads
out of Discord's OpenAPI and its reference pages (each fact names its file and line). Refusals
use Discord's error shape: HTTP 400 `{"code": 50035, "message": "Invalid Form Body", "errors":
{field: {"_errors": [{"code": ..., "message": ...}]}}}`, or the JSON error code of the case
(10003 Unknown Channel, 40060 already acknowledged, ...) with its HTTP status.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

RULES_FILE = Path(__file__).with_name("rules") / "discord.json"
SNOWFLAKE = re.compile(r"^(0|[1-9][0-9]{0,19})$")
COMMAND_NAME = re.compile(r"^[-_'\w]{1,32}$")
IS_COMPONENTS_V2 = 1 << 15


@cache
def rules() -> dict[str, Any]:
    return json.loads(RULES_FILE.read_text())


def fact(name: str) -> Any:
    return rules()["limits"][name]["value"]


def known_route(route: str) -> bool:
    return route in set(rules()["routes"])


class Refusal(Exception):
    """Discord's answer to a request it refuses: an HTTP status and a JSON error body."""

    def __init__(self, status: int, code: int, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"message": message, "code": code}
        if errors:
            self.body["errors"] = errors


def not_found(code: int, what: str) -> Refusal:
    return Refusal(404, code, what)


class FormErrors:
    """Collects field errors into Discord's nested `errors` object, then raises 50035 if any."""

    def __init__(self) -> None:
        self.tree: dict[str, Any] = {}

    def add(self, path: tuple[str | int, ...], code: str, message: str) -> None:
        node = self.tree
        for part in path:
            node = node.setdefault(str(part), {})
        node.setdefault("_errors", []).append({"code": code, "message": message})

    def length(self, path: tuple[str | int, ...], value: Any, low: int, high: int) -> None:
        if not isinstance(value, str):
            self.add(path, "BASE_TYPE_STRING", "Must be a string.")
        elif len(value) > high:
            self.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {high} or fewer in length.")
        elif len(value) < low:
            self.add(path, "BASE_TYPE_MIN_LENGTH", f"Must be {low} or more in length.")

    def count(self, path: tuple[str | int, ...], items: Any, low: int, high: int) -> None:
        if not isinstance(items, list) or not low <= len(items) <= high:
            self.add(path, "BASE_TYPE_BAD_LENGTH", f"Must be between {low} and {high} in length.")

    def choice(self, path: tuple[str | int, ...], value: Any, allowed: list[int]) -> None:
        if value not in allowed:
            choices = ", ".join(str(a) for a in allowed)
            self.add(path, "BASE_TYPE_CHOICES", f"Value must be one of {{{choices}}}.")

    def raise_if_any(self) -> None:
        if self.tree:
            raise Refusal(400, 50035, "Invalid Form Body", self.tree)


# ----- messages ----------------------------------------------------------------------------------

def check_message(body: dict[str, Any], *, creating: bool) -> None:
    """A message create or edit body (channel messages, interaction responses, webhook messages)."""
    errors = FormErrors()
    content = body.get("content")
    if content is not None:
        errors.length(("content",), content, 0, fact("message.content.max"))
    if body.get("embeds") is not None:
        errors.count(("embeds",), body["embeds"], 0, fact("message.embeds.max"))
    if (body.get("flags") or 0) & IS_COMPONENTS_V2:
        errors.add(("flags",), "MESSAGE_FLAGS_INVALID", "The bot does not send components V2 messages.")
    _check_components(body.get("components"), errors)
    _check_allowed_mentions(body.get("allowed_mentions"), errors)
    errors.raise_if_any()
    if creating and not (content or body.get("embeds") or body.get("components") or body.get("attachments")
                         or body.get("sticker_ids") or body.get("poll")):
        raise Refusal(400, 50006, "Cannot send an empty message")


def _check_components(rows: Any, errors: FormErrors) -> None:
    if rows is None:
        return
    errors.count(("components",), rows, 0, fact("message.action_rows.max"))
    seen: set[str] = set()
    for r, row in enumerate(rows if isinstance(rows, list) else []):
        if row.get("type") != 1:
            errors.add(("components", r, "type"), "UNION_TYPE_CHOICES",
                       "Value of field \"type\" must be one of (1,) outside components V2.")
            continue
        children = row.get("components")
        errors.count(("components", r, "components"), children, fact("action_row.components.min"),
                     fact("action_row.buttons.max"))
        for c, button in enumerate(children if isinstance(children, list) else []):
            _check_button(button, ("components", r, "components", c), errors, seen)


def _check_button(button: dict[str, Any], path: tuple[str | int, ...], errors: FormErrors, seen: set[str]) -> None:
    if button.get("type") != 2:
        return  # selects: the bot sends none
    styles = fact("button.styles")
    errors.choice(path + ("style",), button.get("style"), sorted(styles.values()))
    if button.get("label") is not None:
        errors.length(path + ("label",), button["label"], 0, fact("button.label.max"))
    if button.get("style") == styles["LINK"]:
        errors.length(path + ("url",), button.get("url"), 1, fact("button.url.max"))
        return
    low, high = fact("button.custom_id.range")
    custom_id = button.get("custom_id")
    errors.length(path + ("custom_id",), custom_id, low, high)
    if isinstance(custom_id, str):
        if custom_id in seen:
            errors.add(path + ("custom_id",), "COMPONENT_CUSTOM_ID_DUPLICATED", "Component custom id cannot be "
                       "duplicated")
        seen.add(custom_id)


def _check_allowed_mentions(allowed: Any, errors: FormErrors) -> None:
    if allowed is None:
        return
    parse = allowed.get("parse") or []
    for kind in ("users", "roles"):
        ids = allowed.get(kind)
        if ids is None:
            continue
        if kind in parse:
            errors.add(("allowed_mentions", kind), "SET_TYPE_ALREADY_CONTAINS_VALUE",
                       f"parse:[\"{kind}\"] and {kind}: [ids] are mutually exclusive.")
        errors.count(("allowed_mentions", kind), ids, 0, 100)
        for n, snowflake in enumerate(ids if isinstance(ids, list) else []):
            if not SNOWFLAKE.match(str(snowflake)):
                errors.add(("allowed_mentions", kind, n), "NUMBER_TYPE_COERCE", f"Value \"{snowflake}\" is not "
                           "snowflake.")


# ----- threads, interactions, commands -----------------------------------------------------------

def check_thread(body: dict[str, Any]) -> None:
    errors = FormErrors()
    errors.length(("name",), body.get("name"), fact("thread.name.min"), fact("thread.name.max"))
    if body.get("auto_archive_duration") is not None:
        errors.choice(("auto_archive_duration",), body["auto_archive_duration"],
                      fact("thread.auto_archive_duration"))
    errors.raise_if_any()


def check_callback(body: dict[str, Any], interaction_type: int) -> int:
    """The callback's type, if Discord accepts it for this kind of interaction."""
    kinds = fact("interaction.callback_types")
    kind = body.get("type")
    errors = FormErrors()
    errors.choice(("type",), kind, sorted(kinds.values()))
    component_only = {kinds["DEFERRED_UPDATE_MESSAGE"], kinds["UPDATE_MESSAGE"]}
    if kind in component_only and interaction_type != 3:
        errors.add(("type",), "INTERACTION_RESPONSE_TYPE_INVALID", "Only valid for component interactions.")
    errors.raise_if_any()
    data = body.get("data") or {}
    if kind in (kinds["CHANNEL_MESSAGE_WITH_SOURCE"], kinds["UPDATE_MESSAGE"]):
        check_message(data, creating=kind == kinds["CHANNEL_MESSAGE_WITH_SOURCE"])
    return kind


def check_commands(commands: Any) -> None:
    errors = FormErrors()
    if not isinstance(commands, list):
        errors.add((), "BASE_TYPE_ARRAY", "Must be an array.")
        errors.raise_if_any()
    for n, command in enumerate(commands):
        name = command.get("name")
        if not isinstance(name, str) or not COMMAND_NAME.match(name) or name != name.lower():
            errors.add((n, "name"), "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
        if command.get("type", 1) == 1:
            errors.length((n, "description"), command.get("description"), 1, fact("command.description.max"))
        permissions = command.get("default_member_permissions")
        if permissions is not None and not SNOWFLAKE.match(str(permissions)):
            errors.add((n, "default_member_permissions"), "NUMBER_TYPE_COERCE", "Must be a permission bit set.")
        errors.count((n, "options"), command.get("options") or [], 0, 25)
    errors.raise_if_any()
