"""How the Slack fake answers each Web API method: the checks every call passes through (method,
token, scope, arguments, channel), then one handler per method. Mixed into FakeSlack
(tests/fakes/slack_api.py), which holds the workspace these read and change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.fakes import slack_rules as rules

TEAM_ID = "T0TEAM"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"


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


class SlackMethods:
    """The answering half of FakeSlack: needs self.channels, .not_member, .store, .prompts, .scopes,
    .experience, .bot_token, .app_token and ._ts."""

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


