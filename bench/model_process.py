"""The fake Claude (tests/fakes/anthropic_server.py) in a process of its own, for benches.

The real model runs on Anthropic's machines; in the bot's process the fake's HTTP threads would
compete with the bot for Python's interpreter lock and charge its CPU to the bot. In a child
process it still shares this machine's cores (so figures stay conservative), not the bot's lock.
The parent asks the child how many requests it has served, so a bench can check that every
question really reached the model.

It keeps connections alive (HTTP/1.1, chunked streams) as Anthropic's API does: the client reuses
its pooled connections from one answer to the next instead of opening one per answer, which the
tests' HTTP/1.0 fake made it do. Every answer is still a request to the model.
"""

from __future__ import annotations

import multiprocessing
import time
from multiprocessing.connection import Connection

from tests.fakes import anthropic_server

ANSWER = "Opened items can be returned within 30 days of delivery [1]."


def _serve(conn: Connection, text: str, delay: float) -> None:
    # A burst of connections arrives at once; the stdlib server's default listen backlog of 5 would
    # make the kernel drop SYNs and the client retry a second later: the fake's limit, not ours.
    anthropic_server.ThreadingHTTPServer.request_queue_size = 4096
    reply = anthropic_server.Reply(text, chunk_size=32, delay=delay)  # two pieces, `delay` apart
    with anthropic_server.FakeAnthropic(default=reply, keep_alive=True) as fake:
        conn.send(fake.base_url)
        while (asked := conn.recv()) != "stop":
            # The CPU this process (all its threads) has used: it shares the machine's cores with
            # the bot, so a bench reports it beside the bot's own.
            answers = {"cpu": time.process_time, "connections": lambda: fake.connections}
            conn.send(answers.get(asked, lambda: len(fake.requests))())


class ModelProcess:
    """`with ModelProcess(delay=1.0) as model:` model.base_url, model.requests_served()."""

    def __init__(self, delay: float, text: str = ANSWER) -> None:
        context = multiprocessing.get_context("fork")  # started before the bot's threads exist
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child, text, delay), daemon=True)
        self.base_url = ""

    def __enter__(self) -> ModelProcess:
        self._process.start()
        if not self._conn.poll(30):
            raise RuntimeError("the fake model process did not start within 30 s")
        self.base_url = self._conn.recv()
        return self

    def requests_served(self) -> int:
        self._conn.send("count")
        return self._conn.recv()

    def connections(self) -> int:
        """TCP connections the fake has accepted so far."""
        self._conn.send("connections")
        return self._conn.recv()

    def cpu_seconds(self) -> float:
        """CPU time the fake model's process has used so far (user + system, all threads)."""
        self._conn.send("cpu")
        return self._conn.recv()

    def __exit__(self, *exc: object) -> None:
        self._conn.send("stop")
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()
