"""Logging, set up once per entry point: structlog for our lines, the standard library's (discord.py,
slack-bolt, weaviate, aiohttp) through the same renderer, key=value lines or JSON on stderr.

Every line of one delivery carries its ids: adapters call bind_delivery() when a Slack request or
a Discord message/interaction arrives, and the service adds the answer id, all in contextvars, so
each asyncio task (one per delivery) keeps its own. Question text stays out of the logs unless
`log_questions = true`, and known secrets are masked wherever they appear.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import structlog
from structlog.contextvars import bind_contextvars, clear_contextvars, merge_contextvars

if TYPE_CHECKING:
    from bot.settings import Settings

# Fields that may hold what a customer wrote; dropped from every line unless log_questions is on.
TEXT_FIELDS = frozenset({"question", "text", "answer_text"})
# Token shapes worth masking even when we were not told the value (Slack, Anthropic, URL passwords).
_SECRET_SHAPES = re.compile(r"\b(xox[abposr]-[\w-]+|xapp-[\w-]+|sk-ant-[\w-]+)|(?<=://)[^/@\s:]*:[^/@\s]+(?=@)")
# Chatty at INFO and of no use to whoever reads the bot's log (every /metrics scrape is a line).
_QUIET_LOGGERS = {"aiohttp.access": logging.WARNING, "httpx": logging.WARNING, "httpcore": logging.WARNING}
_STRUCTLOG_HANDLER = "supportbot"


def configure_logging(level: str = "WARNING", json: bool = False, *, log_questions: bool = False,
                      secrets: Iterable[str] = ()) -> None:
    shared = _shared_processors(log_questions, [s for s in secrets if s and len(s) >= 6])
    renderer = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level)),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(_CurrentStderr())
    handler.set_name(_STRUCTLOG_HANDLER)
    handler.setLevel(level)  # libraries that set their own logger to DEBUG (bm25s) stay quiet too
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    ))
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _STRUCTLOG_HANDLER]:
        root.removeHandler(old)  # configured again (tests, a second entry point): replace, not add
    root.addHandler(handler)
    root.setLevel(level)
    for name, quiet in _QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(max(quiet, getattr(logging, level)))


def configure_from_settings(settings: Settings, *, long_running: bool) -> None:
    """The settings' log configuration; workers default to INFO, one-shot commands to WARNING."""
    level = settings.log_level or ("INFO" if long_running else "WARNING")
    configure_logging(level, json=settings.log_format == "json", log_questions=settings.log_questions,
                      secrets=_secret_values(settings))


def bind_delivery(platform: str, *, event_id: str = "", conversation: str = "",
                  tenant: str | None = None) -> None:
    """Start a delivery's log context: every line logged by this task from now on carries these ids."""
    clear_contextvars()
    ids = {"platform": platform, "event_id": event_id, "conversation": conversation, "tenant": tenant}
    bind_contextvars(**{key: value for key, value in ids.items() if value})


def _shared_processors(log_questions: bool, secrets: list[str]) -> list:
    processors: list = [
        merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso"),
        structlog.stdlib.PositionalArgumentsFormatter(),
        structlog.processors.format_exc_info,
    ]
    if not log_questions:
        processors.append(_drop_text_fields)
    processors.append(_Masker(secrets))
    return processors


def _drop_text_fields(logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
    for name in TEXT_FIELDS & event.keys():
        del event[name]
    return event


class _Masker:
    """Replaces secret values (the configured tokens, and anything shaped like one) with ***."""

    def __init__(self, secrets: list[str]) -> None:
        self.secrets = sorted(set(secrets), key=len, reverse=True)

    def __call__(self, logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
        for key, value in event.items():
            if isinstance(value, str):
                event[key] = self.mask(value)
        return event

    def mask(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, "***")
        return _SECRET_SHAPES.sub("***", text)


def _secret_values(settings: Settings) -> list[str]:
    found = [settings.anthropic_api_key, settings.discord_token, settings.slack.bot_token,
             settings.slack.app_token, settings.slack.signing_secret, settings.weaviate.api_key]
    values = [secret.get_secret_value() for secret in found if secret is not None]
    if settings.redis_url is not None:  # the password only: the rest says which Redis
        values.append(urlsplit(settings.redis_url.get_secret_value()).password or "")
    return values


class _CurrentStderr:
    """Writes to whatever sys.stderr is now, so a swapped stream (tests, daemons) is honoured."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()
