"""A local fake of Anthropic's Messages API (``POST /v1/messages``) for tests.

Standard library only, so it runs wherever the tests run and never needs a key
or the network. Point a real client at it::

    with FakeAnthropic() as fake:
        fake.queue(Reply("Hi there"), HttpError(429, "rate_limit_error"))
        client = anthropic.Anthropic(base_url=fake.base_url, api_key="test", max_retries=0)
        ...
        assert fake.requests[0]["model"] == "claude-test"

Each request consumes the next queued behaviour; once the queue is empty,
``fake.default`` answers. The wire format follows the anthropic SDK sources
(``_streaming.py``, ``lib/streaming/_messages.py``, ``types/``).

Retries: the anthropic client (and ChatAnthropic, which wraps it) retries
408/409/429/5xx/529 responses and timeouts twice by default, and every retry is
a new request that consumes the next queued behaviour. Build clients with
``max_retries=0`` (or 1 when a test wants to watch a retry happen).
"""

from __future__ import annotations

import collections
import itertools
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional, Union


# --- behaviours --------------------------------------------------------------

@dataclass
class Reply:
    """Answer with ``text``; streamed in ``chunk_size`` pieces, ``delay`` s apart."""
    text: str
    chunk_size: int = 12
    delay: float = 0.0


@dataclass
class Echo:
    """Answer with all text the request showed the model (system + messages),
    joined by newlines, so a test can check what the model was given."""
    chunk_size: int = 12


@dataclass
class Responder:
    """Answer with ``fn(request_body)``."""
    fn: Callable[[dict], str]
    chunk_size: int = 12


@dataclass
class HttpError:
    """Fail with this HTTP status and Anthropic's error body.
    ``retry_after_ms`` sets the header the SDK honours, to make retries fast."""
    status: int
    error_type: str = "api_error"
    message: str = "Error from FakeAnthropic"
    retry_after_ms: Optional[int] = None


@dataclass
class StreamError:
    """Streaming: send ``after_text`` then an SSE ``error`` event and close, as the
    API does when it gets overloaded mid-answer. Non-streaming: a 529."""
    after_text: str
    error_type: str = "overloaded_error"
    message: str = "Overloaded"
    chunk_size: int = 12


@dataclass
class Hang:
    """Sleep ``seconds`` before answering ``Reply("late")``, for timeout tests.
    ``stop()`` wakes it early so a hung handler never delays teardown."""
    seconds: float


Behaviour = Union[Reply, Echo, Responder, HttpError, StreamError, Hang]


# --- reading requests ----------------------------------------------------------

def _block_text(block: Any) -> str:
    """Text of one content block; tool_result blocks nest their content."""
    if isinstance(block, str):
        return block
    if not isinstance(block, dict):
        return ""
    if isinstance(block.get("text"), str):
        return block["text"]
    content = block.get("content")
    if isinstance(content, list):
        return "\n".join(t for t in map(_block_text, content) if t)
    return content if isinstance(content, str) else ""


def _segments(body: dict, with_tools: bool = True) -> list[tuple[str, bool]]:
    """(text, is_cache_breakpoint) pieces in the order the API caches a prompt:
    tools, then system, then messages. A breakpoint caches everything up to it."""
    segs: list[tuple[str, bool]] = []
    if with_tools:
        for tool in body.get("tools") or []:
            segs.append((json.dumps(tool, sort_keys=True), "cache_control" in tool))
    contents = [body.get("system")] + [m.get("content") for m in body.get("messages") or []]
    for content in contents:
        if isinstance(content, str):  # string content cannot carry cache_control
            segs.append((content, False))
        elif isinstance(content, list):
            segs.extend((_block_text(b), isinstance(b, dict) and "cache_control" in b)
                        for b in content)
    if body.get("cache_control") and segs:
        # Top-level cache_control puts the breakpoint on the last block.
        segs[-1] = (segs[-1][0], True)
    return segs


def request_text(body: dict) -> str:
    """What Echo answers: all system and message text, newline-joined."""
    return "\n".join(t for t, _ in _segments(body, with_tools=False) if t)


def _error_body(error_type: str, message: str) -> dict:
    return {"type": "error", "error": {"type": error_type, "message": message}}


# --- the fake ----------------------------------------------------------------

class FakeAnthropic:
    """keep_alive: HTTP/1.1 with persistent connections and chunked SSE bodies, as the real API
    serves; a client then reuses its connections (benches). The default, HTTP/1.0, closes every
    connection after its response, so a test leaves no idle sockets behind."""

    def __init__(self, default: Optional[Behaviour] = None, *, keep_alive: bool = False) -> None:
        self.default: Behaviour = default or Reply("Hello from FakeAnthropic.")
        self.keep_alive = keep_alive
        self.connections = 0  # TCP connections accepted: with keep_alive, fewer than requests
        self.requests: list[Any] = []            # parsed JSON bodies, in arrival order
        self.request_headers: list[dict] = []    # parallel list; keys lower-cased
        self._queue: collections.deque = collections.deque()
        self._seen_prefixes: set = set()         # the fake's "prompt cache"
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._stopping = threading.Event()
        self._server: Optional[ThreadingHTTPServer] = None
        self._thread: Optional[threading.Thread] = None

    def queue(self, *behaviours: Behaviour) -> None:
        with self._lock:
            self._queue.extend(behaviours)

    @property
    def base_url(self) -> str:
        assert self._server is not None, "FakeAnthropic is not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeAnthropic":
        self._stopping.clear()
        handler = _KeepAliveHandler if self.keep_alive else _Handler
        self._server = _Server(("127.0.0.1", 0), handler)  # port 0: a free one
        self._server.daemon_threads = True  # a hung handler must not block exit
        self._server.fake = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wake Hang handlers
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = self._thread = None

    def __enter__(self) -> "FakeAnthropic":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # Called from handler threads.

    def _record(self, body: Any, headers: dict) -> int:
        with self._lock:  # both lists grow together
            self.requests.append(body)
            self.request_headers.append(headers)
            return next(self._ids)

    def _next_behaviour(self) -> Behaviour:
        with self._lock:
            return self._queue.popleft() if self._queue else self.default

    def _usage(self, body: dict, output_text: str) -> dict:
        """Rough token counts (4 chars a token). As in the real API, input_tokens
        counts only what follows the last cache breakpoint; the prefix is billed
        as cache creation the first time it is seen and as a cache read after."""
        segs = _segments(body)
        total = sum(len(t) for t, _ in segs)
        marks = [i for i, (_, bp) in enumerate(segs) if bp]
        read = created = 0
        if marks:
            ends = [sum(len(t) for t, _ in segs[: i + 1]) for i in marks]
            keys = [(body.get("model"), tuple(t for t, _ in segs[: i + 1])) for i in marks]
            with self._lock:
                # Longest breakpoint prefix already cached is a read; the rest is written.
                hit = max((n for n, k in enumerate(keys) if k in self._seen_prefixes), default=-1)
                self._seen_prefixes.update(keys)
            read = ends[hit] if hit >= 0 else 0
            created = ends[-1] - read
        return {
            "input_tokens": (total - read - created) // 4,
            "cache_creation_input_tokens": created // 4,
            "cache_read_input_tokens": read // 4,
            "output_tokens": max(1, len(output_text) // 4),  # never 0, like the API
        }


class _Server(ThreadingHTTPServer):
    # The standard backlog of 5 refuses connections when benchmarks open hundreds at once.
    request_queue_size = 512


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.0: every response ends by closing the connection, which delimits
    # an SSE stream without chunked encoding and leaves no idle keep-alive sockets.
    server_version = "FakeAnthropic/1.0"
    chunked = False

    def setup(self) -> None:
        super().setup()
        fake: FakeAnthropic = self.server.fake  # type: ignore[attr-defined]
        with fake._lock:
            fake.connections += 1

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    def do_POST(self) -> None:
        fake: FakeAnthropic = self.server.fake  # type: ignore[attr-defined]
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")  # recorded as-is
        n = fake._record(body, {k.lower(): v for k, v in self.headers.items()})
        self.request_id = f"req_fake_{n:06d}"
        try:
            self._answer(fake, n, body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout, cancelled stream); nothing to tell it

    def _answer(self, fake: FakeAnthropic, n: int, body: Any) -> None:
        if self.path.split("?")[0].rstrip("/") != "/v1/messages":
            return self._json(404, _error_body("not_found_error", f"Not found: {self.path}"))
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list) \
                or "model" not in body or "max_tokens" not in body:
            # The real API rejects these too; failing loudly catches client bugs.
            return self._json(400, _error_body(
                "invalid_request_error", "body needs model, max_tokens and messages"))
        behaviour = fake._next_behaviour()  # malformed requests leave the script alone
        streaming = bool(body.get("stream"))

        if isinstance(behaviour, Hang):
            fake._stopping.wait(behaviour.seconds)
            behaviour = Reply("late")
        if isinstance(behaviour, StreamError) and not streaming:
            behaviour = HttpError(529, behaviour.error_type, behaviour.message)
        if isinstance(behaviour, HttpError):
            headers = {}
            if behaviour.retry_after_ms is not None:
                headers["retry-after-ms"] = str(behaviour.retry_after_ms)
            return self._json(behaviour.status,
                              _error_body(behaviour.error_type, behaviour.message), headers)

        chunk_size, delay, error = getattr(behaviour, "chunk_size", 12), 0.0, None
        try:
            if isinstance(behaviour, Reply):
                text, delay = behaviour.text, behaviour.delay
            elif isinstance(behaviour, Echo):
                text = request_text(body)
            elif isinstance(behaviour, Responder):
                text = str(behaviour.fn(body))
            elif isinstance(behaviour, StreamError):
                text, error = behaviour.after_text, behaviour
            else:
                raise TypeError(f"not a FakeAnthropic behaviour: {behaviour!r}")
        except Exception as exc:  # a broken Responder should fail the test visibly
            return self._json(500, _error_body("api_error", f"FakeAnthropic: {exc!r}"))

        usage = fake._usage(body, text)
        message = {"id": f"msg_fake_{n:06d}", "type": "message", "role": "assistant",
                   "model": body["model"], "content": [{"type": "text", "text": text}],
                   "stop_reason": "end_turn", "stop_sequence": None, "usage": usage}
        if not streaming:
            return self._json(200, message)

        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("request-id", self.request_id)
        if self.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            self._stream(message, usage, text, chunk_size, delay, error)
        finally:
            if self.chunked:
                self.wfile.write(b"0\r\n\r\n")  # the end of the body; the connection stays open

    def _stream(self, message: dict, usage: dict, text: str, chunk_size: int, delay: float,
                error: Any) -> None:
        # message_start carries an empty message; the text arrives as deltas.
        self._sse("message_start", {"type": "message_start", "message": {
            **message, "content": [], "stop_reason": None,
            "usage": {**usage, "output_tokens": 1}}})
        self._sse("content_block_start", {"type": "content_block_start", "index": 0,
                                          "content_block": {"type": "text", "text": ""}})
        self._sse("ping", {"type": "ping"})
        step = max(1, chunk_size)
        for i in range(0, len(text), step):
            if i and delay:
                time.sleep(delay)
            self._sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                                              "delta": {"type": "text_delta",
                                                        "text": text[i:i + step]}})
        if error is not None:
            # What the API sends when it fails mid-stream; the SDK raises on it.
            self._sse("error", _error_body(error.error_type, error.message))
            return
        self._sse("content_block_stop", {"type": "content_block_stop", "index": 0})
        # message_delta usage is cumulative; ChatAnthropic reads usage only from here.
        self._sse("message_delta", {"type": "message_delta",
                                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                                    "usage": usage})
        self._sse("message_stop", {"type": "message_stop"})

    def _sse(self, event: str, data: dict) -> None:
        # wfile is unbuffered, so each event reaches the client as it is written.
        body = f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()
        if self.chunked:
            body = b"%x\r\n%s\r\n" % (len(body), body)
        self.wfile.write(body)

    def _json(self, status: int, payload: dict, headers: Optional[dict] = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("request-id", self.request_id)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


class _KeepAliveHandler(_Handler):
    # HTTP/1.1: the connection serves the next request; a stream's end is the empty chunk.
    protocol_version = "HTTP/1.1"
    chunked = True
