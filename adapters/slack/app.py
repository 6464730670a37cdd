"""The Slack app: bolt's AsyncApp wired to the service (adapters/slack/process.py runs it).

Socket Mode is the default (an outbound WebSocket: no public URL, good behind a firewall). HTTP
mode serves Slack's Events API on `slack.http_path`; bolt verifies each request's signature and
rejects timestamps more than 5 minutes old, so a replayed request is refused. Several HTTP
workers can run behind a load balancer: every piece of state lives in the service's Redis.
"""

from __future__ import annotations

import time
from typing import Any

import structlog
from slack_bolt.async_app import AsyncApp
from slack_bolt.middleware.request_verification.async_request_verification import AsyncRequestVerification
from slack_bolt.response import BoltResponse
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.convert import PLATFORM
from adapters.slack.listeners import register_all
from adapters.slack.observability import bind_log_context
from adapters.slack.runtime import EVENT_LEASE, Runtime, lease_of
from bot.service import SupportBot
from bot.settings import SlackSettings

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
    the end before answering Slack; the default runs it beside the answer to Slack, which waits
    for the event's reply at most `slack.hold_ack_s` (LeaseHoldingApp), within Slack's 3 s."""
    secret = slack.signing_secret.get_secret_value() if slack.signing_secret else ""
    app = LeaseHoldingApp(
        hold_ack_s=slack.hold_ack_s,
        client=client or web_client(slack),
        signing_secret=secret,
        # Bolt's own check answers 500 to a non-numeric timestamp; ours runs in its place (before
        # authorization, as bolt's does) and answers 401 to anything it cannot verify.
        request_verification_enabled=False,
        # Socket Mode frames come over the authenticated socket: there is no signature to check.
        before_authorize=StrictRequestVerification(secret) if slack.mode == "http" else None,
        process_before_response=process_before_response,
    )
    rt = Runtime(bot=bot, slack=slack)
    app.middleware(bind_log_context)
    app.middleware(_drop_retried_deliveries(bot, slack.hold_ack_s))
    app.error(_log_error)
    register_all(app, rt)
    return app, rt


LEASED_AT = "supportbot_leased_at"  # monotonic time the event's delivery was leased


class LeaseHoldingApp(AsyncApp):
    """Bolt acknowledges an event before its listener runs (app middleware cannot wrap the
    listener: its next() only marks the chain to go on). Here the acknowledgement is held back
    until the event's reply was posted, or `hold_ack_s` after the delivery arrived, so that a
    worker killed while answering leaves the delivery unacknowledged and Slack retries it, to a
    worker that is alive. Both transports (HTTP, Socket Mode) acknowledge through this method."""

    def __init__(self, *args, hold_ack_s: float = 0.0, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.hold_ack_s = hold_ack_s

    async def async_dispatch(self, req):
        response = await super().async_dispatch(req)
        lease = lease_of(req.context)
        if lease is None:
            return response
        if response is None or response.status != 200:  # no listener took it, or it failed: Slack
            await lease.release()                         # retries, and the retry must be let in
            return response
        await lease.wait_settled(self.hold_ack_s - (time.monotonic() - req.context[LEASED_AT]))
        return response


class StrictRequestVerification(AsyncRequestVerification):
    """Bolt's signature check, except that headers it cannot even read (a timestamp that is not
    a number, a signature that is not ASCII) are refused with 401 like a bad signature: bolt
    itself raises on them, which became HTTP 500."""

    async def async_process(self, *, req, resp, next) -> BoltResponse:
        timestamp = req.headers.get("x-slack-request-timestamp", ["0"])[0]
        signature = req.headers.get("x-slack-signature", [""])[0]
        readable = timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12 and signature.isascii()
        if not readable and not self._can_skip(req.mode, req.body):
            log.warning("refused a Slack request with unreadable signature headers")
            return self._build_error_response()
        return await super().async_process(req=req, resp=resp, next=next)


def _drop_retried_deliveries(bot: SupportBot, hold_ack_s: float):
    async def drop_retried_deliveries(body: dict[str, Any], request, context, next) -> BoltResponse | None:
        """Slack redelivers an event it thinks we missed (X-Slack-Retry-Num says which attempt),
        and one whose worker died before acknowledging it. The event is leased in Redis
        (bot/state/leases.py), so exactly one worker answers it, and a retry after a worker died
        finds the lease lapsed and answers it.

        The acknowledgement then waits for the reply (LeaseHoldingApp).
        """
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if not event_id:
            return await next()
        started = time.monotonic()
        retry = bool(_header(request, "x-slack-retry-num"))
        lease = await bot.lease_delivery(PLATFORM, event_id, retry=retry, wait_s=hold_ack_s if retry else 0.0)
        if lease is None:
            log.info("dropped a repeated Slack delivery", event_id=event_id,
                     retry_num=_header(request, "x-slack-retry-num"),
                     retry_reason=_header(request, "x-slack-retry-reason"))
            return BoltResponse(status=200, body="")
        context[EVENT_LEASE] = lease
        context[LEASED_AT] = started
        return await next()

    return drop_retried_deliveries


def _header(request, name: str) -> str:
    values = request.headers.get(name) or [""]
    return values[0]


async def _log_error(error: Exception, body: dict[str, Any]) -> None:
    log.error("Slack listener failed", error=repr(error), request_type=body.get("type"),
              event_type=(body.get("event") or {}).get("type"))
