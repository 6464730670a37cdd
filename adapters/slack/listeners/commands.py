"""Slash commands: `/reindex` for admins, `/ask` for a private answer.

Slack wants a slash command acknowledged within 3 seconds; both acknowledge first and do the
slow part afterwards. `/reindex` runs as a background job whose progress and summary go to the
admin's DM with the app; the service's Redis lock refuses a second one on any worker.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import structlog
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import blocks
from adapters.slack.convert import ask_thread, inquiry_from_command, is_admin
from adapters.slack.delivery import respond_privately
from adapters.slack.listeners.authority import for_connect, is_foreign, thread_ref
from adapters.slack.runtime import Runtime
from bot.speaking import Delivery
from bot.knowledge.indexer import ReindexError
from bot.knowledge.reindex_job import ReindexBusy

log = structlog.get_logger(__name__)

NOT_ADMIN = ("Only the bot's admins can run /reindex. Ask one of them, or ask whoever runs the bot to add "
             "your Slack user id to `slack.admin_users`.")
STARTED = ("Reindex started{full}. I'll send progress and a summary to you in a direct message; the current "
           "knowledge keeps serving until it finishes.")
BUSY_WAIT_S = 1.0  # how long the ack waits to learn whether another reindex holds the lock


@dataclass
class _ReindexJob:
    admin: str
    full: bool
    team: str = ""  # the workspace: its own knowledge base with weaviate.multi_tenancy
    acknowledged: bool = False  # after the ack, news (even a refusal) goes to the admin's DM
    dm_channel: str = ""
    progress_ts: str = ""


def register(app: AsyncApp, rt: Runtime) -> None:
    @app.command("/reindex")
    async def reindex(ack, command: dict[str, Any], client: AsyncWebClient) -> None:
        user = command.get("user_id", "")
        if not is_admin(user, rt.slack):
            await ack(text=NOT_ADMIN)
            return
        job = _ReindexJob(admin=user, full=(command.get("text") or "").strip().lower() == "full",
                          team=command.get("team_id", ""))
        task = rt.spawn(_run(rt, client, job), name="slack-reindex")
        # A refusal usually comes within milliseconds (a Redis SET NX): show it in the reply itself.
        done, _ = await asyncio.wait({task}, timeout=BUSY_WAIT_S)
        job.acknowledged = True
        refusal = task.result() if task in done else None
        await ack(text=refusal or STARTED.format(full=" (full rebuild)" if job.full else ""))

    @app.command("/ask")
    async def ask(ack, command: dict[str, Any], respond, request) -> None:
        async with rt.working():
            inquiry = for_connect(inquiry_from_command(command, rt.slack), _foreign_command(command))
            # A command has no event id; its trigger_id is unique per use, so a replayed request
            # (same body, same trigger_id) is claimed like a repeated event.
            decision = await rt.bot.may_speak(inquiry, Delivery("slack-ask", command.get("trigger_id", ""),
                                                                retry=_retried(request)))
            if not decision.speak:  # the reply to the command is the only message: no placeholder
                # A command always gets its reply; a copy of one (DUPLICATE, no notice) only the ack.
                await (ack(response_type="ephemeral", text=decision.notice) if decision.notice else ack())
                return
            await ack(response_type="ephemeral", text=blocks.PLACEHOLDER)
            inquiry = decision.inquiry
            ref = await thread_ref(rt, inquiry.conversation.channel, ask_thread(inquiry.user_id), inquiry.user_id)
            try:
                answer = await rt.bot.answer(inquiry)
                reply, text = blocks.answer_blocks(answer, ref), blocks.notification_text(answer.text)
            except Exception as exc:
                log.exception("could not answer /ask", error=repr(exc))
                reply, text = blocks.apology_blocks(rt.bot.apology(), ref), rt.bot.apology()
            await respond_privately(respond, text, reply)


async def _run(rt: Runtime, client: AsyncWebClient, job: _ReindexJob) -> str | None:
    """The reindex; returns a refusal only if it came before the ack (then the ack carries it)."""

    async def progress(stage: str, done: int, total: int) -> None:
        await _show_progress(client, job, blocks.reindex_progress_text(stage, done, total))

    try:
        summary = await rt.bot.run_reindex(requested_by=f"<@{job.admin}>", full=job.full, on_progress=progress,
                                           tenant=job.team or None)
        text = blocks.reindex_summary_text(summary)
    except ReindexBusy as exc:
        if not job.acknowledged:
            return str(exc)
        text = f":no_entry: {exc}"
    except ReindexError as exc:
        text = f":x: Reindex failed: {exc}\nThe previous index keeps serving."
    except Exception as exc:
        log.exception("reindex from Slack failed", error=repr(exc))
        text = (f":x: Reindex failed unexpectedly ({type(exc).__name__}). The previous index keeps serving; "
                "the bot's log has the details.")
    try:
        await _dm(client, job, text)
    except Exception as exc:
        log.error("could not send the reindex summary to the admin", admin=job.admin, summary=text,
                  error=repr(exc))
    return None


async def _show_progress(client: AsyncWebClient, job: _ReindexJob, text: str) -> None:
    """One progress message, edited as stages advance (a message per batch would be noise)."""
    if job.progress_ts:
        await client.chat_update(channel=job.dm_channel, ts=job.progress_ts, text=text)
    else:
        job.progress_ts = await _dm(client, job, text)


async def _dm(client: AsyncWebClient, job: _ReindexJob, text: str) -> str:
    # Posting to a user id lands in the app's DM with that user; the reply names the DM channel.
    response = await client.chat_postMessage(channel=job.dm_channel or job.admin, text=text)
    job.dm_channel = response.get("channel") or job.dm_channel
    return response.get("ts") or ""


def _foreign_command(command: dict[str, Any]) -> bool:
    """A slash command from someone of another organisation (Slack Connect)."""
    return is_foreign({"is_stranger": command.get("is_stranger"), "user_team": command.get("user_team")},
                      command.get("team_id", ""))


def _retried(request) -> bool:
    """Slack marks a redelivery with X-Slack-Retry-Num."""
    return any(request.headers.get("x-slack-retry-num") or [])
