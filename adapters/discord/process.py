"""`python -m adapters.discord`: check the settings and the token, connect, serve, stop cleanly.

Like the Slack adapter (adapters/lifecycle.py has the shared rules): missing settings are listed
at once; a refused token or a missing message content intent stops the start with one line
saying what to fix (exit 2); an unreachable Discord is retried with capped backoff for
`discord.startup_retry_s`, then named with what to check (exit 1). SIGTERM and SIGINT stop the
process within 5 seconds at any moment, answers in flight finished or apologised for.
"""

from __future__ import annotations

import asyncio

import aiohttp
import discord
import structlog

from adapters import lifecycle
from adapters.discord.client import SupportClient
from adapters.lifecycle import StartupFailure, unless_stopped
from bot.ops.server import OpsEndpoints
from bot.settings import Settings

log = structlog.get_logger(__name__)

NO_TOKEN = ("DISCORD_TOKEN is not set: put the token from the Developer Portal (your application > Bot > "
            "Reset Token) in DISCORD_TOKEN (environment or .env); see README, \"Run it in Discord\".")
NO_HANDOVER_CHANNEL = ("No hand-over channel: set discord.escalation_channel_id to the id of the staff channel "
                       "where \"Talk to a human\" hand-overs go (right-click the channel > Copy Channel ID, with "
                       "Developer Mode on), and let the bot post there.")
TOKEN_REFUSED = ("Discord refused the bot token: copy a fresh one from the Developer Portal (your application > "
                 "Bot > Reset Token) into DISCORD_TOKEN.")
INTENT_REFUSED = ("Discord refused the message content intent: in the Developer Portal, open your application > "
                  "Bot and switch on MESSAGE CONTENT INTENT, then start the bot again.")


def check_settings(settings: Settings) -> None:
    """Refuse to start with every missing setting named at once (secrets are never echoed)."""
    problems = []
    if settings.discord_token is None or not settings.discord_token.get_secret_value().strip():
        problems.append(NO_TOKEN)
    if settings.discord.escalation_channel_id is None:
        problems.append(NO_HANDOVER_CHANNEL)
    lifecycle.refuse("Discord", problems)


async def check_token(token: str) -> None:
    """Ask Discord whether it accepts the token (GET /users/@me): one clear StartupFailure if not."""
    http = discord.http.HTTPClient(asyncio.get_running_loop())  # its own: login() makes the client's
    try:
        await http.static_login(token)
    except discord.LoginFailure:
        raise StartupFailure(TOKEN_REFUSED) from None
    except discord.DiscordServerError as exc:
        raise StartupFailure(f"Discord is not answering normally (HTTP {exc.status})", transient=True) from None
    except discord.HTTPException as exc:
        if not exc.code:  # no Discord error code: not Discord's answer (a proxy in between)
            raise StartupFailure(f"Cannot reach Discord: got HTTP {exc.status} instead of Discord's answer; check "
                                 "any proxy between this machine and discord.com", transient=True) from None
        raise StartupFailure(f"Discord answered the token check with HTTP {exc.status}: {exc.text}") from None
    except (aiohttp.ClientError, OSError) as exc:
        raise StartupFailure(f"Cannot reach Discord ({type(exc).__name__}: {exc}): check the network, DNS and any "
                             "proxy or firewall between this machine and discord.com", transient=True) from None
    finally:
        await http.close()


async def run(settings: Settings, stop: asyncio.Event) -> None:
    from bot.wiring import build_bot  # loads the embedding model

    support = await unless_stopped(lifecycle.in_thread(build_bot, settings), stop)
    client = SupportClient(support, settings.discord)
    ops = OpsEndpoints.for_bot(support)
    ops.health.add_check("discord_gateway", lambda: client.is_ready() and not client.is_closed())
    token = settings.discord_token.get_secret_value().strip()
    try:
        async with ops.serving():  # /metrics, /healthz, /readyz on ops.port
            await lifecycle.retry_transient(lambda: check_token(token), what="Discord",
                                            budget_s=settings.discord.startup_retry_s, stop=stop)
            await unless_stopped(support.index_if_empty(), stop)
            await unless_stopped(_login(client, token), stop)
            await unless_stopped(_connect(client), stop)
    except lifecycle.Stopped:
        pass  # no more events are read: the gateway loop was cancelled
    finally:
        # Answers in flight still need the REST API to finish (or to be replaced by the apology),
        # so the client closes only after them.
        await lifecycle.wind_down(client.inflight)
        await asyncio.wait_for(client.close(), lifecycle.CLOSE_S)
        await support.close()


async def _login(client: SupportClient, token: str) -> None:
    try:
        await client.login(token)  # the token again, the application, cogs, slash commands
    except (aiohttp.ClientError, OSError) as exc:
        raise StartupFailure(f"Lost Discord while starting ({type(exc).__name__}: {exc}): check the network",
                             transient=True) from None


async def _connect(client: SupportClient) -> None:
    """The gateway, until the client is closed (discord.py reconnects by itself) or Discord
    refuses it for good."""
    try:
        await client.connect(reconnect=True)
    except discord.PrivilegedIntentsRequired:
        raise StartupFailure(INTENT_REFUSED) from None
    except discord.LoginFailure:
        raise StartupFailure(TOKEN_REFUSED) from None
    except discord.ConnectionClosed as exc:
        if exc.code == 4004:  # authentication failed
            raise StartupFailure(TOKEN_REFUSED) from None
        raise StartupFailure(f"Discord closed the connection ({exc.code}: {exc.reason})") from None


def main(argv: list[str] | None = None) -> int:
    return lifecycle.main("Discord", argv, check_settings, run)
