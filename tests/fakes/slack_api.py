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

TEAM_ID = "T0TEAM"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
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


@dataclass
class Message:
    channel: str
    ts: str
    user: str
    text: str = ""
    blocks: list[dict[str, Any]] | None = None
    thread_ts: str | None = None
    streaming: bool = False  # between chat.startStream and chat.stopStream

    @property
    def by_bot(self) -> bool:
        return self.user == BOT_USER_ID


class FakeSlack:
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

    def _answer(self, method: str, args: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        if method == "response_url":
            return self._respond(args)
        spec = rules.method(method)
        if spec is None:
            return rules.error("unknown_method", req_method=method)
        token = (headers.get("authorization", "").removeprefix("Bearer ").strip() or args.get("token", ""))
        expected = self.app_token if spec.get("token") == "app" else self.bot_token
        if not token:
            return rules.error("not_authed")
        if token != expected:
            return rules.error("invalid_auth")
        if spec.get("token") != "app" and (problem := rules.missing_scope(method, self.scopes)):
            return problem
        channel = self._channel(args)
        if problem := rules.missing_arguments(method, args, in_dm=self.channels.get(channel) == "im"):
            return problem
        if channel and (problem := self._channel_problem(method, channel)):
            return problem
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        return handler(channel, args) if handler else {"ok": True}

    def _channel(self, args: dict[str, Any]) -> str:
        channel = str(args.get("channel") or args.get("channel_id") or "")
        # Posting to a user id goes to the app's DM with that user: Slack answers with the DM's id.
        if channel.startswith(("U", "W")):
            channel = "D" + channel[1:]
            self.channels.setdefault(channel, "im")
        return channel

    def _channel_problem(self, method: str, channel: str) -> dict[str, Any] | None:
        kind = self.channels.get(channel)
        if kind is None or (kind == "private" and channel in self.not_member):
            return rules.error("channel_not_found")
        if channel in self.not_member and method not in ("chat.getPermalink",):
            return rules.error("not_in_channel")
        return None

    def _next_ts(self) -> str:
        return f"{1_700_000_000 + next(self._ts)}.000100"

    def _message_or_error(self, channel: str, ts: str, *, own: bool) -> Message | dict[str, Any]:
        message = self.store.get((channel, ts))
        if message is None:
            return rules.error("message_not_found")
        if own and not message.by_bot:
            return rules.error("cant_update_message")
        return message

    def _content_problem(self, args: dict[str, Any], *, needs_text: bool = True) -> dict[str, Any] | None:
        if "blocks" in args and (problem := rules.blocks_error(args["blocks"])):
            return problem
        if needs_text and not args.get("text") and not args.get("blocks") and not args.get("attachments"):
            return rules.error("no_text")
        if len(str(args.get("text") or "")) > rules.limit("message.text"):
            return rules.error("msg_too_long")
        return None

    # Each method handler gets the resolved channel and the arguments, and returns Slack's answer.

    def _auth_test(self, channel: str, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": "https://test.slack.com/", "team": "Test", "user": "supportbot",
                "team_id": TEAM_ID, "user_id": BOT_USER_ID, "bot_id": BOT_ID, "is_enterprise_install": False}

    def _apps_connections_open(self, channel: str, args: dict[str, Any]) -> dict[str, Any]:
        # No Socket Mode server here: a closed port, so a client connecting to it fails fast.
        return {"ok": True, "url": "ws://127.0.0.1:9/link/?ticket=fake"}

    def _chat_postMessage(self, channel: str, args: dict[str, Any]) -> dict[str, Any]:
        if problem := self._content_problem(args):
            return problem
        message = Message(channel, self._next_ts(), BOT_USER_ID, args.get("text", ""), args.get("blocks"),
                          args.get("thread_ts"))
        self.store[(channel, message.ts)] = message
        return {"ok": True, "channel": channel, "ts": message.ts, "message": _public(message)}

    def _chat_update(self, channel: str, args: dict[str, Any]) -> dict[str, Any]:
        found = self._message_or_error(channel, args["ts"], own=True)
        if isinstance(found, dict):
            return found
        if found.streaming:
            return rules.error("streaming_state_conflict")
        if problem := self._content_problem(args):
            return problem
        found.text = args.get("text", found.text)
        if "blocks" in args:
            found.blocks = args["blocks"]
        return {"ok": True, "channel": channel, "ts": found.ts, "text": found.text, "message": _public(found)}

    def _chat_postEphemeral(self, channel: str, args: dict[str, Any]) -> dict[str, Any]:
        if problem := self._content_problem(args):
            return problem
        return {"ok": True, "message_ts": self._next_ts()}

    def _chat_getPermalink(self, channel: str, args: dict[str, Any]) -> dict[str, Any]:
        found = self._message_or_error(channel, args["message_ts"], own=False)
        if isinstance(found, dict):
            return found
        return {"ok": True, "channel": channel,
                "permalink": f"https://test.slack.com/archives/{channel}/p{found.ts.replace('.', '')}"}

    def _chat_startStream(self, channel: str, args: dict[str, Any]) -> dict[str, Any]:
        if problem := self._stream_text_problem(args):
            return problem
        message = Message(channel, self._next_ts(), BOT_USER_ID, _streamed(args), None, args.get("thread_ts"),
                          streaming=True)
        self.store[(channel, message.ts)] = message
        return {"ok": True, "channel": channel, "ts": message.ts}

    def _chat_appendStream(self, channel: str, args: dict[str, Any]) -> dict[str, Any]:
        found = self._streaming(channel, args)
        if isinstance(found, dict):
            return found
        if not _streamed(args):
            return rules.error("invalid_arguments", "missing required field: markdown_text")
        found.text += _streamed(args)
        return {"ok": True, "channel": channel, "ts": found.ts}

    def _chat_stopStream(self, channel: str, args: dict[str, Any]) -> dict[str, Any]:
        found = self._streaming(channel, args)
        if isinstance(found, dict):
            return found
        if problem := self._content_problem(args, needs_text=False):
            return problem
        found.text += _streamed(args)
        found.blocks = args.get("blocks") or found.blocks
        found.streaming = False
        return {"ok": True, "channel": channel, "ts": found.ts, "message": _public(found)}

    def _streaming(self, channel: str, args: dict[str, Any]) -> Message | dict[str, Any]:
        if problem := self._stream_text_problem(args):
            return problem
        found = self._message_or_error(channel, args["ts"], own=True)
        if isinstance(found, Message) and not found.streaming:
            return rules.error("message_not_in_streaming_state")
        return found

    def _stream_text_problem(self, args: dict[str, Any]) -> dict[str, Any] | None:
        pieces = [args.get("markdown_text") or ""] + [c.get("text", "") for c in args.get("chunks") or []]
        if any(len(piece) > rules.limit("stream.markdown_text") for piece in pieces):
            return rules.error("msg_too_long")
        return None

    def _assistant_threads_setStatus(self, channel: str, args: dict[str, Any]) -> dict[str, Any]:
        if (channel, args["thread_ts"]) not in self.store:
            return rules.error("invalid_thread_ts")
        return {"ok": True}

    def _assistant_threads_setSuggestedPrompts(self, channel: str, args: dict[str, Any]) -> dict[str, Any]:
        prompts = args["prompts"]
        if len(prompts) > rules.limit("suggested_prompts") or not all(
                isinstance(p, dict) and p.get("title") and p.get("message") for p in prompts):
            return rules.error("invalid_arguments", f"prompts: 1-{rules.limit('suggested_prompts')} items, "
                                                    "each with a title and a message")
        if args.get("thread_ts") and self.experience == "agent":
            return {"ok": True}  # Slack's docs: with agent_view a thread_ts makes the call a silent no-op
        self.prompts[channel] = prompts
        return {"ok": True}

    def _respond(self, args: dict[str, Any]) -> dict[str, Any]:
        """A post to a response_url: a message, so the same content rules apply."""
        if problem := self._content_problem(args):
            return problem
        return {"ok": True}


def _public(message: Message) -> dict[str, Any]:
    return {"type": "message", "user": message.user, "bot_id": BOT_ID, "ts": message.ts, "text": message.text,
            "thread_ts": message.thread_ts, **({"blocks": message.blocks} if message.blocks else {})}


def _streamed(args: dict[str, Any]) -> str:
    chunks = [c.get("text", "") for c in args.get("chunks") or [] if c.get("type") == "markdown_text"]
    return (args.get("markdown_text") or "") + "".join(chunks)


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
