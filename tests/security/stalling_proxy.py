"""A TCP proxy in front of a Redis the test started itself, which can stall: while stalled it
forwards nothing in either direction (a hung server, as clients see one), and when released it
forwards what it held. Runs on the test's event loop."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from urllib.parse import urlsplit


class StallingProxy:
    def __init__(self, upstream_url: str) -> None:
        target = urlsplit(upstream_url)
        self.upstream = (target.hostname, target.port)
        self.db = target.path or "/0"
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task] = set()

    @property
    def url(self) -> str:
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"redis://{host}:{port}{self.db}"

    async def start(self) -> StallingProxy:
        self._server = await asyncio.start_server(self._connect, "127.0.0.1", 0)
        return self

    def stall(self) -> None:
        self._flowing.clear()

    def release(self) -> None:
        self._flowing.set()

    async def stop(self) -> None:
        self.release()
        self._server.close()
        for pipe in list(self._pipes):
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)
        await self._server.wait_closed()

    async def _connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.get_running_loop().create_task(self._pipe(source, sink))
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                await self._flowing.wait()
                sink.write(data)
                await sink.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            sink.close()


@asynccontextmanager
async def stalled_for(proxy: StallingProxy, seconds: float):
    """Stall now; release after `seconds` even if the block is still running."""
    proxy.stall()
    release = asyncio.get_running_loop().call_later(seconds, proxy.release)
    try:
        yield
    finally:
        release.cancel()
        proxy.release()
