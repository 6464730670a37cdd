"""How Slack delivers events to workers behind a load balancer, for bench/slack_http_load.py.

- `RoundRobinProxy`: each request to the next worker in turn. A worker that refuses the connection
  (it is dead) is taken out of the rotation and the request goes to the next one, as a load
  balancer's health checks would do (the request never reached the dead worker, so sending it
  elsewhere is safe). A worker that dies while holding a request makes that request fail with
  502: the load balancer cannot know whether it was handled, so it leaves the retry to Slack; if
  the worker then refuses a new connection it is taken out of the rotation (a passive health
  check), so that Slack's retry, a moment later, is not sent into the same dead worker.
- `SlackSender`: Slack's Events API retry rules. A delivery not acknowledged with a 2xx within 3 s
  is retried: at once after an error or a refused connection (X-Slack-Retry-Reason http_error,
  connection_failed), at the 3 s mark after no answer (http_timeout, without waiting for the
  first attempt), then 1 minute and 5 minutes after that; 3 retries at most. Every attempt is
  recorded, so the bench can say which events were recovered by a retry.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from bench.checks import require

ACK_WITHIN_S = 3.0  # Slack retries a delivery not acknowledged within 3 seconds
RETRY_DELAYS_S = (0.0, 60.0, 300.0)  # after the first failure; then after 1 and 5 minutes


class RoundRobinProxy:
    """Forwards each request to the next live worker in turn, as a load balancer would."""

    def __init__(self, ports: list[int], port: int) -> None:
        self.ports = ports
        self.dead: set[int] = set()
        self.sent = {p: 0 for p in ports}
        self.dropped = {p: 0 for p in ports}  # requests a worker died holding (answered 502)
        self._next = itertools.cycle(ports)
        self.port = port

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port, backlog=4096).start()

    def _pick(self) -> int:
        for _ in self.ports:
            port = next(self._next)
            if port not in self.dead:
                return port
        raise web.HTTPBadGateway(text="no live worker")

    async def _forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        while True:
            port = self._pick()
            try:
                async with self._session.request(request.method, f"http://127.0.0.1:{port}{request.path_qs}",
                                                 data=body, headers=headers) as answer:
                    self.sent[port] += 1
                    return web.Response(status=answer.status, body=await answer.read(),
                                        content_type=answer.content_type)
            except aiohttp.ClientConnectorError:  # refused: the worker is gone; try the next
                self.dead.add(port)
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError, aiohttp.ClientPayloadError):
                self.sent[port] += 1
                self.dropped[port] += 1
                if not await _accepts_connections(port):  # a passive health check: dead, not just slow
                    self.dead.add(port)
                return web.Response(status=502, text="the worker closed the connection")

    async def stop(self) -> None:
        await self._session.close()
        await self._runner.cleanup()


async def _accepts_connections(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    return True


@dataclass
class Attempt:
    retry_num: int
    reason: str  # "" for the first delivery
    sent_at: float
    status: int | None = None  # None: no HTTP answer (connection failed)
    seconds: float | None = None  # until the answer, None if none came

    @property
    def acked(self) -> bool:
        return self.status == 200 and self.seconds is not None and self.seconds <= ACK_WITHIN_S


@dataclass
class Delivery:
    """Every attempt Slack made to deliver one event."""

    event_id: str
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def acked(self) -> bool:
        return any(a.acked for a in self.attempts)

    @property
    def recovered_by_retry(self) -> bool:
        return not self.attempts[0].acked and self.acked


class SlackSender:
    """Sends one event the way Slack does, retrying by Slack's rules until a 2xx within 3 s."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url

    async def send(self, event_id: str, body_and_headers, *, first_retry_num: int = 0) -> Delivery:
        """`body_and_headers(retry_num, reason)` -> (body, headers) signed for that attempt.
        `first_retry_num` > 0 sends a retry straight away (as the bench's deliberate duplicates do)."""
        delivery = Delivery(event_id)
        retry_num, reason = first_retry_num, "http_timeout" if first_retry_num else ""
        pending: set[asyncio.Task] = set()
        while True:
            attempt = Attempt(retry_num, reason, time.perf_counter())
            delivery.attempts.append(attempt)
            task = asyncio.get_running_loop().create_task(self._post(attempt, *body_and_headers(retry_num, reason)))
            pending.add(task)
            done, _ = await asyncio.wait({task}, timeout=ACK_WITHIN_S)
            if task in done and attempt.acked:
                break
            reason = "http_timeout" if task not in done else ("connection_failed" if attempt.status is None
                                                                else "http_error")
            if retry_num >= len(RETRY_DELAYS_S) or first_retry_num:
                break  # Slack gives up after 3 retries (a deliberate duplicate is not retried further)
            await asyncio.sleep(RETRY_DELAYS_S[retry_num])
            retry_num += 1
        await asyncio.gather(*pending)  # a timed-out attempt may still answer: record it
        return delivery

    async def _post(self, attempt: Attempt, body: str, headers: dict[str, str]) -> None:
        try:
            async with self.session.post(self.url, data=body, headers=headers) as answer:
                await answer.read()
                attempt.status = answer.status
        except aiohttp.ClientError:
            return
        attempt.seconds = time.perf_counter() - attempt.sent_at


def require_acknowledged(deliveries: list[Delivery]) -> list[float]:
    """Every event acknowledged within 3 s by one of Slack's attempts; the acknowledged attempts' times."""
    unacked = [d for d in deliveries if not d.acked]
    require(not unacked, f"{len(unacked)} events were never acknowledged within {ACK_WITHIN_S:.0f} s, e.g. "
                         f"{[(a.retry_num, a.status, a.seconds) for a in unacked[0].attempts] if unacked else ''}")
    return [a.seconds for d in deliveries for a in d.attempts if a.acked]
