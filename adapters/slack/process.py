"""`python -m adapters.slack`: check the settings and credentials, connect, serve, stop cleanly.

The start checks what it can before loading anything heavy: the settings (all problems listed
at once), then the tokens against Slack (auth.test; apps.connections.open for Socket Mode). A
refused token stops with one line naming the token and where to get a good one; an unreachable
Slack is retried (adapters/lifecycle.py) and then named with what to check. SIGTERM and SIGINT
stop the process within 5 seconds at any moment, answers in flight finished or apologised for.
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import structlog
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters import lifecycle
from adapters.lifecycle import StartupFailure, unless_stopped
from adapters.slack.app import build_app, web_client
from adapters.slack.runtime import Runtime
from bot.ops.server import OpsEndpoints
from bot.settings import Settings, SlackSettings

log = structlog.get_logger(__name__)

# Slack's errors that say "try again later" rather than "this token is wrong".
TRANSIENT = {"ratelimited", "rate_limited", "fatal_error", "internal_error", "service_unavailable",
             "request_timeout"}
BOT_TOKEN_FIX = ("copy the Bot User OAuth Token (xoxb-…) from your app's OAuth & Permissions page into "
                 "SLACK_BOT_TOKEN (reinstall the app if the token was revoked)")
APP_TOKEN_FIX = ("generate an app-level token (xapp-…) with the connections:write scope under Basic Information "
                 "> App-Level Tokens and put it in SLACK_APP_TOKEN")


def check_settings(slack: SlackSettings) -> None:
    """Refuse to start with a message that says which setting to add (secrets are never echoed)."""
    problems = []
    if not slack.bot_token:
        problems.append("SLACK_BOT_TOKEN is not set: copy the Bot User OAuth Token (xoxb-…) from "
                        "your app's OAuth & Permissions page.")
    if slack.mode == "socket" and not slack.app_token:
        problems.append("SLACK_APP_TOKEN is not set: Socket Mode needs an app-level token (xapp-…) with "
                        "connections:write (Basic Information > App-Level Tokens), or set slack.mode = \"http\".")
    if slack.mode == "http" and not slack.signing_secret:
        problems.append("SLACK_SIGNING_SECRET is not set: HTTP mode verifies every request with it "
                        "(Basic Information > App Credentials).")
    if not slack.staff_channel:
        problems.append("No staff channel: set slack.escalation_channel (or slack.staff_channels) to the "
                        "channel id where \"Talk to a human\" hand-overs go, and invite the bot there.")
    lifecycle.refuse("Slack", problems)


async def check_credentials(slack: SlackSettings) -> None:
    """Ask Slack whether it accepts the tokens: one clear StartupFailure if not."""
    base_url = slack.api_base_url or AsyncWebClient.BASE_URL
    client = AsyncWebClient(token=slack.bot_token.get_secret_value() if slack.bot_token else None,
                            base_url=base_url, timeout=int(lifecycle.ATTEMPT_TIMEOUT_S))
    await _ask(client.auth_test(), "SLACK_BOT_TOKEN", BOT_TOKEN_FIX, base_url)
    if slack.mode == "socket" and slack.app_token:
        await _ask(client.apps_connections_open(app_token=slack.app_token.get_secret_value()),
                   "SLACK_APP_TOKEN", APP_TOKEN_FIX, base_url)


async def _ask(call, token_name: str, fix: str, base_url: str) -> None:
    try:
        await call
    except SlackApiError as exc:
        data = exc.response.data if isinstance(exc.response.data, dict) else {}
        error = data.get("error", "")
        if not error:  # not Slack's answer: a proxy, or a wrong slack.api_base_url
            raise StartupFailure(f"Cannot reach Slack at {base_url}: got HTTP {exc.response.status_code} instead of "
                                 "Slack's answer; check slack.api_base_url and any proxy in between",
                                 transient=True) from None
        if exc.response.status_code >= 500 or error in TRANSIENT:
            raise StartupFailure(f"Slack is not answering normally ({error})", transient=True) from None
        raise StartupFailure(f"Slack refused {token_name} ({error}): {fix}.") from None
    except (aiohttp.ClientError, OSError) as exc:
        raise StartupFailure(f"Cannot reach Slack at {base_url} ({type(exc).__name__}: {exc}): check the "
                             "network, DNS and any proxy or firewall between this machine and slack.com",
                             transient=True) from None


async def serve(app: AsyncApp, rt: Runtime, slack: SlackSettings, stop: asyncio.Event,
                ops: OpsEndpoints | None = None) -> None:
    """Receive Slack requests until `stop` is set, then wind down within the stop deadline. `ops`
    adds /metrics, /healthz and /readyz: to the events server in HTTP mode; in Socket Mode they are
    on ops.port and the socket's connection becomes a readiness check."""
    if slack.mode == "socket":
        await _serve_socket_mode(app, slack, stop, ops)
    else:
        await _serve_http(app, slack, stop, ops)
    await lifecycle.wind_down(rt.inflight)


async def _serve_socket_mode(app: AsyncApp, slack: SlackSettings, stop: asyncio.Event,
                             ops: OpsEndpoints | None) -> None:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    assert slack.app_token is not None
    handler = AsyncSocketModeHandler(app, slack.app_token.get_secret_value(), logger=_OneLineLogger())
    if ops:
        ops.health.add_check("slack_socket", handler.client.is_connected)
    try:
        try:
            await unless_stopped(asyncio.wait_for(handler.connect_async(), slack.startup_retry_s), stop)
        except TimeoutError:
            raise StartupFailure(f"Could not open Slack's Socket Mode connection within {slack.startup_retry_s:.0f} s: "
                                 "check that outbound WebSocket connections (wss, port 443) are allowed",
                                 transient=True) from None
        log.warning("Slack adapter connected (Socket Mode)")
        await stop.wait()
    except lifecycle.Stopped:
        pass
    finally:
        await asyncio.wait_for(handler.close_async(), lifecycle.CLOSE_S)


async def _serve_http(app: AsyncApp, slack: SlackSettings, stop: asyncio.Event,
                      ops: OpsEndpoints | None) -> None:
    from aiohttp import web

    web_app = app.web_app(path=slack.http_path, port=slack.http_port)
    if ops:
        ops.add_routes(web_app)
    runner = web.AppRunner(web_app, shutdown_timeout=lifecycle.CLOSE_S)
    await runner.setup()
    try:
        try:
            await web.TCPSite(runner, slack.http_host, slack.http_port).start()
        except OSError as exc:
            raise StartupFailure(f"Cannot listen on {slack.http_host}:{slack.http_port} ({exc}): choose a free "
                                 "slack.http_port or stop what uses it") from None
        log.warning("Slack adapter listening (HTTP)", host=slack.http_host, port=slack.http_port, path=slack.http_path)
        await stop.wait()
    finally:
        await runner.cleanup()


async def run(settings: Settings, stop: asyncio.Event) -> None:
    from bot.wiring import build_bot  # loads the embedding model

    slack = settings.slack
    await lifecycle.retry_transient(lambda: check_credentials(slack), what="Slack", budget_s=slack.startup_retry_s,
                                    stop=stop)
    bot = await unless_stopped(lifecycle.in_thread(build_bot, settings), stop)
    ops = OpsEndpoints.for_bot(bot)
    try:
        async with ops.serving(own_port=slack.mode != "http"):  # HTTP mode: on the events server
            await unless_stopped(bot.index_if_empty(), stop)
            app, rt = build_app(bot, slack, client=web_client(slack))
            await serve(app, rt, slack, stop, ops)
    except lifecycle.Stopped:
        pass
    finally:
        await bot.close()


def main(argv: list[str] | None = None) -> int:
    return lifecycle.main("Slack", argv, lambda settings: check_settings(settings.slack), run)


class _OneLineLogger(logging.LoggerAdapter):
    """slack_sdk's Socket Mode client logs each failed connection attempt with a traceback (to a
    logger nobody reads, by default): its warnings and errors go to our log instead, one line each,
    since a failed attempt is an expected and retried one."""

    def __init__(self) -> None:
        super().__init__(logging.getLogger("slack_sdk.socket_mode"), {})

    def log(self, level: int, msg, *args, **kwargs) -> None:  # type: ignore[override]
        if level >= logging.WARNING:
            log.warning("Slack Socket Mode: " + (str(msg) % args if args else str(msg)))
        else:
            super().log(level, msg, *args, **{k: v for k, v in kwargs.items() if k != "exc_info"})

    def exception(self, msg, *args, exc_info=True, **kwargs) -> None:  # type: ignore[override]
        self.log(logging.WARNING, msg, *args)
