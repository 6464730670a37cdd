"""`python -m adapters.discord`: run the Discord bot with the settings in config/ and the env."""

from __future__ import annotations

import asyncio
import sys

import discord
import structlog

from adapters.discord.client import SupportClient
from bot.logs import configure_from_settings
from bot.ops.server import OpsEndpoints
from bot.settings import Settings, SettingsError, load_settings

log = structlog.get_logger(__name__)
NO_TOKEN = ("No Discord bot token. Set DISCORD_TOKEN (environment or .env) to the token from the "
            "Developer Portal (your application > Bot > Reset Token); see README, section Discord.")


async def run(settings: Settings) -> None:
    from bot.wiring import build_bot  # loads the embedding model

    support = build_bot(settings)
    ops = OpsEndpoints.for_bot(support)
    try:
        async with ops.serving():  # /metrics, /healthz, /readyz on ops.port
            await support.index_if_empty()
            if settings.discord.escalation_channel_id is None:
                log.warning("discord.escalation_channel_id is not set: hand-overs are recorded but not posted")
            client = SupportClient(support, settings.discord)
            ops.health.add_check("discord_gateway", lambda: client.is_ready() and not client.is_closed())
            async with client:
                await client.start(settings.discord_token.get_secret_value())
    finally:
        await support.close()


def main() -> int:
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    configure_from_settings(settings, long_running=True)
    if settings.discord_token is None or not settings.discord_token.get_secret_value().strip():
        print(NO_TOKEN, file=sys.stderr)
        return 2
    try:
        asyncio.run(run(settings))
    except discord.LoginFailure:
        print("Discord refused the bot token. Copy a fresh one from the Developer Portal "
              "(Bot > Reset Token) into DISCORD_TOKEN.", file=sys.stderr)
        return 2
    except discord.PrivilegedIntentsRequired:
        print("Discord refused the message content intent. In the Developer Portal, open your "
              "application > Bot and switch on MESSAGE CONTENT INTENT, then start the bot again.",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
