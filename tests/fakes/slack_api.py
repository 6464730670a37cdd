"""A local Slack Web API for tests: answers like Slack, refuses what Slack refuses, records every call.

Standard library only, on a free port in a background thread, so the real slack_sdk client (and
bolt on top of it) talks to it over HTTP::

    with FakeSlack(channels={"C1": "public"}) as slack:
        client = AsyncWebClient(token=slack.bot_token, base_url=slack.base_url)
        await client.chat_postMessage(channel="C1", text="hi")
        assert slack.calls("chat.postMessage")[0].args["text"] == "hi"

Strict as Slack is (tests/fakes/slack_rules.py holds the rules, derived from Slack's specs):
unknown methods, a bad token, missing arguments, scopes the app manifest does not grant, channels
it does not know or the bot is not in, updates of messages that do not exist or are not the bot's,
blocks beyond Block Kit's limits, stream calls out of order. Channels must be declared
(`channels=` or add_channel); people's messages the bot refers to (permalinks, statuses) are
declared with add_user_message, as they would exist in Slack.

`response_url` (what `respond()` posts to) is served too: use `slack.response_url("name")` in
payloads and read the posts with `slack.calls("response_url")`. `fail_next()` makes the next call
to a method fail once: HTTP 429 with Retry-After, or Slack's `{"ok": false, "error": …}`.
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

from tests.fakes import slack_rules as rules
from tests.fakes.slack_methods import BOT_ID, BOT_USER_ID, TEAM_ID, Message, SlackMethods  # noqa: F401
BOT_TOKEN = "xoxb-test"
APP_TOKEN = "xapp-test"


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


class FakeSlack(SlackMethods):
    def __init__(self, channels: dict[str, str] | None = None, *, not_member: tuple[str, ...] = (),
                 scopes: set[str] | None = None, experience: str | None = None) -> None:
        """channels: id -> "public", "private" or "im"; not_member: public channels the bot is not in.
        scopes and experience ("agent" or "assistant") default to the app manifest's."""
        manifest = rules.manifest()
        self.scopes = set(scopes) if scopes is not None else rules.granted_scopes(manifest)
        self.experience = experience or ("agent" if "agent_view" in manifest["features"] else "assistant")
        self.bot_token, self.app_token = BOT_TOKEN, APP_TOKEN
        self.channels: dict[str, str] = dict(channels or {})
        self.not_member = set(not_member)
        self.store: dict[tuple[str, str], Message] = {}
        self.prompts: dict[str, list[dict[str, str]]] = {}  # suggested prompts shown, per DM channel
        self._calls: list[Call] = []
        self._failures: dict[str, list[Failure]] = {}
        self._lock = threading.RLock()
        self._ts = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None

    # ----- lifecycle -----------------------------------------------------------------------

    def start(self) -> FakeSlack:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.fake = self  # type: ignore[attr-defined]
        # A short poll interval: shutdown() waits for the next poll, and every test stops a server.
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
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

    # ----- the workspace -----------------------------------------------------------------------

    def add_channel(self, channel: str, kind: str = "public", *, member: bool = True) -> None:
        with self._lock:
            self.channels[channel] = kind
            (self.not_member.discard if member else self.not_member.add)(channel)

    def add_user_message(self, channel: str, ts: str, user: str, text: str = "", thread_ts: str | None = None) -> None:
        """A message a person wrote, as it exists in Slack before the bot hears of it."""
        with self._lock:
            self.store[(channel, ts)] = Message(channel, ts, user, text, thread_ts=thread_ts)

    # ----- scripting and reading ---------------------------------------------------------------

    def fail_next(self, method: str, failure: Failure) -> None:
        with self._lock:
            self._failures.setdefault(method, []).append(failure)

    def calls(self, method: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def methods(self) -> list[str]:
        return [c.method for c in self.calls()]

    def rejected(self) -> list[Call]:
        """Calls Slack would have refused (excluding failures a test scripted with fail_next)."""
        return [c for c in self.calls() if not c.result.get("ok", True) and not c.result.get("scripted")]

    def messages(self, channel: str, thread: str | None = None) -> list[dict[str, Any]]:
        """The bot's messages in a channel (or one thread) as they are now, in the order posted."""
        with self._lock:
            found = [m for m in self.store.values() if m.by_bot and m.channel == channel
                     and (thread is None or m.thread_ts == thread)]
        return [{"ts": m.ts, "text": m.text, "thread_ts": m.thread_ts, "channel": m.channel,
                 "streaming": m.streaming, **({"blocks": m.blocks} if m.blocks is not None else {})}
                for m in sorted(found, key=lambda m: float(m.ts))]

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

    def handle(self, method: str, args: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict, dict]:
        with self._lock:
            queue = self._failures.get(method) or []
            failure = queue.pop(0) if queue else None
            extra: dict[str, str] = {}
            if failure and failure.status == 429:
                status, extra = 429, {"Retry-After": str(failure.retry_after)}
                body = {"ok": False, "error": "ratelimited", "scripted": True}
            elif failure:
                status, body = 200, {"ok": False, "error": failure.error, "scripted": True}
            else:
                status, body = 200, self._answer(method, args, headers)
            self._calls.append(Call(method, args, headers, status, body))
        return status, {k: v for k, v in body.items() if k != "scripted"}, extra

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
            status, body, _ = fake.handle("response_url", {**args, "url": url.path}, headers)
            # A response_url answers in plain text: "ok", or a 400 with the reason.
            if body.get("ok"):
                self._send(200, b"ok", "text/plain", {})
            else:
                self._send(400, body["error"].encode(), "text/plain", {})
            return
        if not url.path.startswith("/api/"):
            self._send(404, b"not found", "text/plain", {})
            return
        status, body, extra = fake.handle(url.path.removeprefix("/api/"), args, headers)
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
    for key in ("blocks", "chunks", "prompts", "attachments"):
        if isinstance(args.get(key), str):
            try:
                args[key] = json.loads(args[key])
            except ValueError:
                args[key] = None  # Slack: invalid_blocks_format; the block check reports it
    return args
