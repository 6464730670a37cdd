"""A local mock of Slack's Web API for tests: records every call, answers like Slack does.

Standard library only, on a free port in a background thread, so the real slack_sdk client
(and bolt on top of it) talks to it over HTTP::

    with FakeSlack() as slack:
        client = AsyncWebClient(token="xoxb-test", base_url=slack.base_url)
        await client.chat_postMessage(channel="C1", text="hi")
        assert slack.calls("chat.postMessage")[0].args["text"] == "hi"

`response_url` (what `respond()` posts to) is served too: use `slack.response_url("name")` in
payloads and read the posts with `slack.calls("response_url")`. `fail_next()` makes the next
call to a method fail once: HTTP 429 with Retry-After, or Slack's `{"ok": false, "error": …}`.
The response shapes follow Slack's method reference pages (https://docs.slack.dev/reference/methods).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

TEAM_ID = "T0TEAM"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 200
    result: dict[str, Any] = field(default_factory=dict)  # what the fake answered


@dataclass
class Failure:
    status: int = 200  # 429 for a rate limit, else Slack answers 200 with ok: false
    error: str = "ratelimited"
    retry_after: int = 0


class FakeSlack:
    def __init__(self) -> None:
        self._calls: list[Call] = []
        self._failures: dict[str, list[Failure]] = {}
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ----- lifecycle -----------------------------------------------------------------------

    def start(self) -> FakeSlack:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.fake = self  # type: ignore[attr-defined]
        # A short poll interval: shutdown() waits for the next poll, and every test stops a server.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        return self.origin + "/api/"

    def response_url(self, name: str = "r") -> str:
        return f"{self.origin}/response/{name}"

    # ----- scripting and reading ---------------------------------------------------------------

    def fail_next(self, method: str, failure: Failure) -> None:
        with self._lock:
            self._failures.setdefault(method, []).append(failure)

    def calls(self, method: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def methods(self) -> list[str]:
        return [c.method for c in self.calls()]

    def messages(self, channel: str, thread: str | None = None) -> list[dict[str, Any]]:
        """What the bot's messages in a channel (or one thread) finally say: each posted message
        with its later chat.update applied, in the order they were posted."""
        found: dict[str, dict[str, Any]] = {}
        for call in self.calls():
            if not call.result.get("ok"):
                continue
            if call.method == "chat.postMessage" and call.result.get("channel") == channel and (
                    thread is None or call.args.get("thread_ts") == thread):
                found[call.result["ts"]] = {**call.args, "ts": call.result["ts"]}
            elif call.method == "chat.update" and call.args.get("ts") in found:
                found[call.args["ts"]].update(call.args)
        return list(found.values())

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()

    async def wait_for(self, method: str, count: int = 1, timeout_s: float = 30.0) -> list[Call]:
        """The calls to `method` once there are at least `count` (generous timeout: slow CI)."""
        deadline = time.monotonic() + timeout_s
        while len(found := [c for c in self.calls(method) if c.result.get("ok", True)]) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} successful {method} call(s), saw {self.methods()}")
            await asyncio.sleep(0.02)
        return found

    # ----- answering (called from the server thread) -------------------------------------------

    def _handle(self, method: str, args: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict, dict]:
        with self._lock:
            queue = self._failures.get(method) or []
            failure = queue.pop(0) if queue else None
            if failure and failure.status == 429:
                status, extra = 429, {"Retry-After": str(failure.retry_after)}
                body = {"ok": False, "error": "ratelimited"}
            elif failure:
                status, body, extra = 200, {"ok": False, "error": failure.error}, {}
            else:
                status, body, extra = 200, self._result(method, args), {}
            self._calls.append(Call(method, args, headers, status, body))
        return status, body, extra

    def _next_ts(self) -> str:
        return f"{1_700_000_000 + next(self._ts)}.000100"

    def _result(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel") or args.get("channel_id") or "")
        # Posting to a user id goes to the app's DM with that user: Slack answers with the DM's id.
        if channel.startswith(("U", "W")):
            channel = "D" + channel[1:]
        ok: dict[str, Any] = {"ok": True}
        if method == "auth.test":
            return {**ok, "url": "https://test.slack.com/", "team": "Test", "user": "supportbot",
                    "team_id": TEAM_ID, "user_id": BOT_USER_ID, "bot_id": BOT_ID, "is_enterprise_install": False}
        if method in ("chat.postMessage", "chat.startStream"):
            ts = self._next_ts()
            return {**ok, "channel": channel, "ts": ts,
                    "message": {"type": "message", "user": BOT_USER_ID, "bot_id": BOT_ID, "ts": ts,
                                "text": args.get("text", ""), "thread_ts": args.get("thread_ts")}}
        if method in ("chat.update", "chat.appendStream", "chat.stopStream"):
            return {**ok, "channel": channel, "ts": args.get("ts"), "text": args.get("text", "")}
        if method == "chat.postEphemeral":
            return {**ok, "message_ts": self._next_ts()}
        if method == "chat.getPermalink":
            ts = str(args.get("message_ts", "")).replace(".", "")
            return {**ok, "channel": channel, "permalink": f"https://test.slack.com/archives/{channel}/p{ts}"}
        return ok


class _Handler(BaseHTTPRequestHandler):
    server: ThreadingHTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass

    def do_GET(self) -> None:
        self._serve(b"")

    def do_POST(self) -> None:
        self._serve(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

    def _serve(self, raw: bytes) -> None:
        fake: FakeSlack = self.server.fake  # type: ignore[attr-defined]
        url = urlparse(self.path)
        args = _parse(raw, self.headers.get("Content-Type", ""), url.query)
        headers = {k.lower(): v for k, v in self.headers.items()}
        if url.path.startswith("/response/"):
            fake._handle("response_url", {**args, "url": url.path}, headers)
            self._send(200, b"ok", "text/plain", {})
            return
        if not url.path.startswith("/api/"):
            self._send(404, b"not found", "text/plain", {})
            return
        status, body, extra = fake._handle(url.path.removeprefix("/api/"), args, headers)
        self._send(status, json.dumps(body).encode(), "application/json; charset=utf-8", extra)

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


def _parse(raw: bytes, content_type: str, query: str) -> dict[str, Any]:
    """JSON bodies, form bodies (values that hold JSON, like blocks, decoded) and query strings."""
    if raw and "json" in content_type:
        return json.loads(raw)
    text = raw.decode() if raw else query
    args: dict[str, Any] = {k: v[0] for k, v in parse_qs(text).items()}
    for key in ("blocks", "chunks", "prompts"):
        if isinstance(args.get(key), str):
            args[key] = json.loads(args[key])
    return args
