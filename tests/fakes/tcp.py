"""A TCP stand-in for Redis that can hang: accepts connections, then forwards them or goes silent.

"Hang" is the failure a timeout-less client never recovers from: the socket connects, the
request is read, and no reply ever comes. Switching to "forward" relays to a real server, so a
test can watch the bot recover when Redis comes back.
"""

from __future__ import annotations

import socket
import threading
from urllib.parse import urlsplit

from tests.redis_server import session_url


class SwitchableProxy:
    def __init__(self, upstream: str | tuple[str, int] | None = None, mode: str = "hang") -> None:
        """`upstream`: a redis:// URL or (host, port); by default the test session's Redis, looked up
        when the first connection is forwarded (a proxy that only hangs needs none)."""
        self.upstream = _address(upstream) if upstream else None
        self.mode = mode  # "hang" or "forward"; applies to connections accepted afterwards
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self._sockets.append(client)
            target = self._swallow if self.mode == "hang" else self._forward
            threading.Thread(target=target, args=(client,), daemon=True).start()

    def _swallow(self, client: socket.socket) -> None:
        try:
            while client.recv(65536):
                pass
        except OSError:
            pass

    def _forward(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.upstream or _address(session_url()))
        except OSError:
            client.close()
            return
        self._sockets.append(upstream)
        threading.Thread(target=_pump, args=(upstream, client), daemon=True).start()
        _pump(client, upstream)

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        for sock in self._sockets:
            try:
                sock.close()
            except OSError:
                pass


def _address(upstream: str | tuple[str, int]) -> tuple[str, int]:
    if isinstance(upstream, tuple):
        return upstream
    parts = urlsplit(upstream)
    return parts.hostname or "127.0.0.1", parts.port or 6379


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, sink):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
