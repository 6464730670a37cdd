"""/metrics, /healthz and /readyz over aiohttp.

Slack in HTTP mode adds the routes to the aiohttp app bolt serves events on (one port, as a load
balancer expects). Socket Mode and Discord workers have no HTTP server of their own, so they
serve the routes on `ops.port` (0 switches it off). The command line never serves them.

    ops = OpsEndpoints.for_bot(bot)
    async with ops.serving():                  # Socket Mode, Discord: on ops.port
    async with ops.serving(own_port=False):    # Slack HTTP mode, with ops.add_routes(web_app)
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import structlog
from aiohttp import web
from prometheus_client import CollectorRegistry
from prometheus_client.aiohttp import make_aiohttp_handler

from bot.ops.health import Health, Report

if TYPE_CHECKING:
    from bot.service import SupportBot

log = structlog.get_logger(__name__)


class OpsEndpoints:
    def __init__(self, bot: SupportBot, registry: CollectorRegistry) -> None:
        self.settings = bot.settings.ops
        self.health = Health(bot)
        self.registry = registry

    @classmethod
    def for_bot(cls, bot: SupportBot) -> OpsEndpoints:
        """The bot's own metrics registry (an empty one when it was built without metrics)."""
        return cls(bot, getattr(bot.observer, "registry", None) or CollectorRegistry())

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/metrics", make_aiohttp_handler(self.registry))
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)

    @asynccontextmanager
    async def serving(self, *, own_port: bool = True) -> AsyncIterator[None]:
        """Keep the liveness heartbeat running while the block runs, and serve the endpoints on
        ops.port when it is set (own_port=False: they were added to another app's routes)."""
        self.health.start()
        runner = None
        if own_port and self.settings.port:
            app = web.Application()
            self.add_routes(app)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            await web.TCPSite(runner, self.settings.host, self.settings.port).start()
            log.info("serving /metrics, /healthz and /readyz", host=self.settings.host, port=self.settings.port)
        try:
            yield
        finally:
            if runner is not None:
                await runner.cleanup()
            await self.health.stop()

    async def _healthz(self, request: web.Request) -> web.Response:
        return _json(await self.health.live())

    async def _readyz(self, request: web.Request) -> web.Response:
        return _json(await self.health.ready())


def _json(report: Report) -> web.Response:
    return web.Response(status=200 if report.healthy else 503, content_type="application/json",
                        text=json.dumps(report.to_dict()))
