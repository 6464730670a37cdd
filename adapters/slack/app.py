"""The Slack app: bolt's AsyncApp wired to the service, and `python -m adapters.slack` to run it.

Socket Mode is the default (an outbound WebSocket: no public URL, good behind a firewall). HTTP
mode serves Slack's Events API on `slack.http_path`; bolt verifies each request's signature and
rejects timestamps more than 5 minutes old, so a replayed request is refused. Several HTTP
workers can run behind a load balancer: every piece of state lives in the service's Redis.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from typing import Any

import structlog
from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.convert import PLATFORM
from adapters.slack.listeners import register_all
from adapters.slack.observability import bind_log_context
from adapters.slack.runtime import Runtime
from bot.logs import configure_from_settings
from bot.ops.server import OpsEndpoints
from bot.service import SupportBot
from bot.settings import Settings, SettingsError, SlackSettings, load_settings

log = structlog.get_logger(__name__)


def web_client(slack: SlackSettings) -> AsyncWebClient:
    """The Web API client; a 429 is retried after Slack's Retry-After, up to three times."""
    token = slack.bot_token.get_secret_value() if slack.bot_token else None
    return AsyncWebClient(
        token=token, base_url=slack.api_base_url or AsyncWebClient.BASE_URL,
        retry_handlers=[AsyncConnectionErrorRetryHandler(), AsyncRateLimitErrorRetryHandler(max_retry_count=3)],
    )


def build_app(bot: SupportBot, slack: SlackSettings, *, client: AsyncWebClient | None = None,
              process_before_response: bool = False) -> tuple[AsyncApp, Runtime]:
    """The bolt app and its runtime. process_before_response=True (tests, FaaS) runs a listener to
    the end before answering Slack; the default answers Slack first, as Slack's 3 s limit needs."""
    secret = slack.signing_secret.get_secret_value() if slack.signing_secret else ""
    app = AsyncApp(
        client=client or web_client(slack),
        signing_secret=secret,
        # Socket Mode frames come over the authenticated socket: there is no signature to check.
        request_verification_enabled=slack.mode == "http",
        process_before_response=process_before_response,
    )
    rt = Runtime(bot=bot, slack=slack)
    app.middleware(bind_log_context)
    app.middleware(_drop_retried_deliveries(bot))
    app.error(_log_error)
    register_all(app, rt)
    return app, rt


def _drop_retried_deliveries(bot: SupportBot):
    async def drop_retried_deliveries(body: dict[str, Any], request, next) -> BoltResponse | None:
        """Slack redelivers an event it thinks we missed (X-Slack-Retry-Num says which attempt);
        the event id is claimed in Redis, so exactly one worker answers it."""
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and not await bot.first_delivery(PLATFORM, event_id):
            log.info("dropped a repeated Slack delivery", event_id=event_id,
                     retry_num=_header(request, "x-slack-retry-num"),
                     retry_reason=_header(request, "x-slack-retry-reason"))
            return BoltResponse(status=200, body="")
        return await next()

    return drop_retried_deliveries


def _header(request, name: str) -> str:
    values = request.headers.get(name) or [""]
    return values[0]


async def _log_error(error: Exception, body: dict[str, Any]) -> None:
    log.error("Slack listener failed", error=repr(error), request_type=body.get("type"),
              event_type=(body.get("event") or {}).get("type"))


# ----- running ---------------------------------------------------------------------------------

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
    if problems:
        raise SettingsError("The Slack adapter cannot start:\n" + "\n".join(f"  - {p}" for p in problems))


async def serve(app: AsyncApp, slack: SlackSettings, stop: asyncio.Event, ops: OpsEndpoints | None = None) -> None:
    """Receive Slack requests until `stop` is set; `ops` adds /metrics, /healthz and /readyz (on the
    events server in HTTP mode, on ops.port in Socket Mode)."""
    if slack.mode == "socket":
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        assert slack.app_token is not None
        handler = AsyncSocketModeHandler(app, slack.app_token.get_secret_value())
        if ops:
            ops.health.add_check("slack_socket", handler.client.is_connected)
        await handler.connect_async()
        log.warning("Slack adapter connected (Socket Mode)")
        try:
            await stop.wait()
        finally:
            await handler.close_async()
        return

    from aiohttp import web

    web_app = app.web_app(path=slack.http_path, port=slack.http_port)
    if ops:
        ops.add_routes(web_app)
    runner = web.AppRunner(web_app)
    await runner.setup()
    await web.TCPSite(runner, slack.http_host, slack.http_port).start()
    log.warning("Slack adapter listening (HTTP)", host=slack.http_host, port=slack.http_port, path=slack.http_path)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


async def run(settings: Settings) -> None:
    from bot.wiring import build_bot  # loads the embedding model

    bot = build_bot(settings)
    ops = OpsEndpoints.for_bot(bot)
    http = settings.slack.mode == "http"  # then the endpoints live on the events server
    try:
        async with ops.serving(own_port=not http):
            await bot.index_if_empty()
            app, rt = build_app(bot, settings.slack)
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await serve(app, settings.slack, stop, ops)
            await rt.drain(timeout_s=30)  # let answers in flight reach their threads
    finally:
        await bot.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m adapters.slack", description="Run supportbot in Slack.")
    parser.add_argument("--config", help="settings file (default: config/supportbot.toml)")
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.config)
        check_settings(settings.slack)
    except SettingsError as exc:
        print(exc)
        return 2
    configure_from_settings(settings, long_running=True)
    asyncio.run(run(settings))
    return 0
