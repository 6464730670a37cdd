"""Discord-shaped payloads for tests: users, members, roles, channels, threads, guilds, messages and
interactions, as the gateway delivers them (the shapes follow discord.py's `types/` and Discord's
docs). Ids in payloads are strings, as Discord sends snowflakes.
"""

from __future__ import annotations

import itertools
from typing import Any

BOT_ID = 1_100_000_000_000_000_001
APP_ID = 1_100_000_000_000_000_002
GUILD_ID = 1_100_000_000_000_000_003
CUSTOMER_ID = 1_400_000_000_000_000_001
TIMESTAMP = "2026-01-01T00:00:00.000000+00:00"
_ids = itertools.count(1_200_000_000_000_000_000)


def snowflake() -> int:
    return next(_ids)


def user_payload(user_id: int, name: str = "someone", *, bot: bool = False) -> dict:
    return {"id": str(user_id), "username": name, "global_name": name, "discriminator": "0",
            "avatar": None, "bot": bot}


BOT_USER = user_payload(BOT_ID, "supportbot", bot=True)


def member_payload(user: dict | None = None, roles: tuple[int, ...] = (), permissions: int | None = None) -> dict:
    member = {"roles": [str(r) for r in roles], "joined_at": TIMESTAMP, "deaf": False, "mute": False,
              "flags": 0, "nick": None, "avatar": None, "pending": False}
    if user is not None:
        member["user"] = user
    if permissions is not None:
        member["permissions"] = str(permissions)
    return member


def role_payload(role_id: int, name: str, permissions: int = 0) -> dict:
    return {"id": str(role_id), "name": name, "permissions": str(permissions), "position": 1, "color": 0,
            "hoist": False, "managed": False, "mentionable": True, "flags": 0}


def channel_payload(channel_id: int, name: str, *, type: int = 0, guild_id: int = GUILD_ID) -> dict:
    return {"id": str(channel_id), "type": type, "name": name, "guild_id": str(guild_id), "position": 0,
            "permission_overwrites": [], "nsfw": False, "parent_id": None, "topic": None,
            "rate_limit_per_user": 0, "last_message_id": None, "flags": 0, "available_tags": [],
            "default_reaction_emoji": None}


def thread_payload(thread_id: int, parent_id: int, name: str, *, owner_id: int = BOT_ID,
                   guild_id: int = GUILD_ID) -> dict:
    return {"id": str(thread_id), "type": 11, "name": name, "guild_id": str(guild_id),
            "parent_id": str(parent_id), "owner_id": str(owner_id), "last_message_id": None,
            "rate_limit_per_user": 0, "message_count": 0, "member_count": 1, "flags": 0,
            "thread_metadata": {"archived": False, "auto_archive_duration": 1440,
                                "archive_timestamp": TIMESTAMP, "locked": False}}


def guild_payload(*, channels: list[dict], roles: list[dict] = (), threads: list[dict] = (),
                  guild_id: int = GUILD_ID) -> dict:
    everyone = role_payload(guild_id, "@everyone", permissions=0)
    everyone["position"] = 0
    return {"id": str(guild_id), "name": "Harbor & Pine", "owner_id": "1", "icon": None, "splash": None,
            "discovery_splash": None, "afk_channel_id": None, "afk_timeout": 300, "verification_level": 0,
            "default_message_notifications": 0, "explicit_content_filter": 0, "mfa_level": 0,
            "features": [], "roles": [everyone, *roles], "emojis": [], "stickers": [],
            "channels": channels, "threads": list(threads), "members": [], "voice_states": [],
            "presences": [], "member_count": 3, "large": False, "unavailable": False,
            "joined_at": TIMESTAMP, "premium_tier": 0, "preferred_locale": "en-US", "nsfw_level": 0,
            "system_channel_flags": 0, "application_id": None}


def message_payload(message_id: int, channel_id: int, content: str, *, author: dict,
                    guild_id: int | None = GUILD_ID, member: dict | None = None,
                    mentions: list[dict] = (), components: list = (), flags: int = 0) -> dict:
    data = {"id": str(message_id), "channel_id": str(channel_id), "author": author, "content": content,
            "timestamp": TIMESTAMP, "edited_timestamp": None, "tts": False, "mention_everyone": False,
            "mentions": list(mentions), "mention_roles": [], "attachments": [], "embeds": [],
            "pinned": False, "type": 0, "components": list(components), "flags": flags}
    if guild_id is not None:
        data["guild_id"] = str(guild_id)
        data["member"] = member or member_payload()
    return data


def interaction_payload(kind: int, data: dict, *, user: dict, channel: dict, roles: tuple[int, ...] = (),
                        permissions: int = 0, message: dict | None = None,
                        guild_id: int | None = GUILD_ID) -> dict:
    """kind: 2 = slash command, 3 = button press."""
    payload = {"id": str(snowflake()), "application_id": str(APP_ID), "type": kind, "data": data,
               "channel_id": channel["id"], "channel": channel, "token": f"tok{snowflake()}",
               "version": 1, "locale": "en-US", "app_permissions": str((1 << 50) - 1),
               "attachment_size_limit": 10 * 1024 * 1024,
               "entitlements": [], "context": 0 if guild_id else 1,
               "authorizing_integration_owners": {"0": str(guild_id or 0)}}
    if guild_id is not None:
        payload["guild_id"] = str(guild_id)
        payload["guild_locale"] = "en-US"
        payload["member"] = member_payload(user, roles, permissions)
    else:
        payload["user"] = user
    if message is not None:
        payload["message"] = message
    return payload


def button_press(custom_id: str, message: dict, *, user: dict, channel: dict, **kwargs: Any) -> dict:
    return interaction_payload(3, {"custom_id": custom_id, "component_type": 2}, user=user, channel=channel,
                               message=message, **kwargs)


def slash_command(name: str, options: dict[str, Any], *, user: dict, channel: dict, **kwargs: Any) -> dict:
    types = {str: 3, bool: 5, int: 4}
    data = {"id": str(snowflake()), "name": name, "type": 1,
            "options": [{"name": k, "type": types[type(v)], "value": v} for k, v in options.items()]}
    return interaction_payload(2, data, user=user, channel=channel, **kwargs)


def sealed_fields(custom_id: str) -> dict[str, str]:
    """The parts of one of the bot's sealed custom_ids (adapters/discord/views.py): kind, action,
    channel, thread, subject (answer or escalation id), asker."""
    kind, rest = custom_id.removeprefix("sb:").split(":", 1)
    action, channel, thread, subject, asker, _expires, _tag = rest.split(":")
    return {"kind": kind, "action": action, "channel": channel, "thread": thread, "subject": subject,
            "asker": asker}


def custom_ids(message: dict) -> list[str]:
    """The custom_ids of a message's buttons, in order."""
    return [c["custom_id"] for row in message.get("components") or [] for c in row.get("components", [])
            if "custom_id" in c]
