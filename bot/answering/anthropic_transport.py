"""Claude's async HTTP transport: aiohttp (`[llm] http_transport = "aiohttp"`) or httpx.

ChatAnthropic's async client rides one httpx connection pool shared by every instance. That pool
re-examines every pooled connection whenever a request starts or a stream closes (is the socket
still readable?), so its CPU grows with the square of the requests in flight: in a burst of 200
questions it was a fifth of the event loop's work. anthropic ships an aiohttp transport behind
the same httpx interface (`anthropic.DefaultAioHttpClient`), whose connector keeps idle
connections in a queue instead: 10% less of the bot's CPU per answer in bursts of 200 and 1,000,
and a burst of 1,000 done in 0.84 of the time (bench/concurrency.py --transport, both in one run).

The client keeps ChatAnthropic's own parameters (key, base URL, timeout, retries, headers) and
the SDK's connection limits. An aiohttp session belongs to the event loop it was opened in and
must be closed in it: `aclose()` (called by SupportBot.close) closes it, and a model used again
afterwards, or from another loop, opens a new one.
"""

from __future__ import annotations

import asyncio
from typing import Any

import anthropic
from langchain_anthropic import ChatAnthropic
from pydantic import PrivateAttr


class AioHttpChatAnthropic(ChatAnthropic):
    """ChatAnthropic whose async calls go through aiohttp; the sync client stays httpx."""

    _aio: tuple[asyncio.AbstractEventLoop, anthropic.AsyncClient] | None = PrivateAttr(default=None)

    @property
    def _async_client(self) -> anthropic.AsyncClient:  # ChatAnthropic's cached_property, per loop here
        loop = asyncio.get_running_loop()
        if self._aio is None or self._aio[0] is not loop:
            self._aio = (loop, self._new_async_client())
        return self._aio[1]

    def _new_async_client(self) -> anthropic.AsyncClient:
        params = dict(self._client_params)
        http: dict[str, Any] = {"base_url": params["base_url"], "limits": anthropic.DEFAULT_CONNECTION_LIMITS}
        if "timeout" in params:  # absent: the SDK's default (ChatAnthropic passes none for <= 0)
            http["timeout"] = params["timeout"]
        if self.anthropic_proxy:
            http["proxy"] = self.anthropic_proxy
        return anthropic.AsyncClient(**params, http_client=anthropic.DefaultAioHttpClient(**http))

    async def aclose(self) -> None:
        """Close the session opened in this loop; the next call opens a new one."""
        if self._aio is None:
            return
        loop, client = self._aio
        self._aio = None
        if loop is asyncio.get_running_loop():
            await client.close()
