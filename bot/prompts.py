"""The prompt files support leads edit: loading, validation, hot reload and the version hash.

A bad edit is refused with a message that names the file and the problem, and the last good set
keeps serving. Every Answer carries the version hash of the set that produced it, so feedback
and cache entries can be traced to the exact wording.
"""

from __future__ import annotations

import hashlib
import string
import threading
from dataclasses import dataclass
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class PromptSpec:
    required: frozenset[str]
    optional: frozenset[str]
    purpose: str

    @property
    def allowed(self) -> frozenset[str]:
        return self.required | self.optional


def _spec(required: set[str], optional: set[str], purpose: str) -> PromptSpec:
    return PromptSpec(frozenset(required), frozenset(optional), purpose)


SPECS: dict[str, PromptSpec] = {
    "system.md": _spec(set(), {"company_name"}, "who the bot is and the rules it follows"),
    "answer.md": _spec(
        {"question", "context"}, {"history", "company_name"}, "the question with the policy passages"
    ),
    "rewrite.md": _spec(
        {"question", "history"}, {"company_name"}, "turns a follow-up into a standalone question"
    ),
    "decline.md": _spec(set(), {"question", "company_name"}, "said when no policy covers the question"),
    "escalation.md": _spec(set(), {"question", "company_name"}, "said to the asker on hand-over"),
    "busy.md": _spec(set(), {"retry_after", "company_name"}, "said when a user asks faster than the rate limit"),
    "apology.md": _spec(set(), {"company_name"}, "said when something failed and no answer could be made"),
    "language.md": _spec(set(), {"languages", "language", "question", "company_name"},
                         "said to a question in a language the knowledge base is not written in"),
}


class PromptError(Exception):
    """A prompt file that cannot be used; the message names the file and what to fix."""


@dataclass(frozen=True)
class PromptSet:
    texts: dict[str, str]
    version: str

    def render(self, name: str, **values: str) -> str:
        allowed = {key: value for key, value in values.items() if key in SPECS[name].allowed}
        return self.texts[name].format(**allowed)


def placeholders_of(name: str, text: str) -> set[str]:
    """The {placeholders} in a prompt text; raises PromptError for broken brace syntax."""
    try:
        fields = [field for _, field, spec, conv in string.Formatter().parse(text) if field is not None]
    except ValueError as exc:
        raise PromptError(
            f"prompts/{name}: {exc}. Write {{{{ and }}}} for a literal brace."
        ) from None
    for field in fields:
        if not field.isidentifier():
            raise PromptError(
                f"prompts/{name}: '{{{field}}}' is not a placeholder name. Placeholders are plain "
                f"names such as {{question}}; write {{{{ and }}}} for a literal brace."
            )
    return set(fields)


def validate(name: str, text: str) -> None:
    spec = SPECS[name]
    if not text.strip():
        raise PromptError(f"prompts/{name} is empty; it should hold {spec.purpose}.")
    found = placeholders_of(name, text)
    if missing := sorted(spec.required - found):
        raise PromptError(
            f"prompts/{name} is missing the placeholder(s) "
            + ", ".join(f"{{{m}}}" for m in missing)
            + f"; it must contain them (see prompts/README.md)."
        )
    if unknown := sorted(found - spec.allowed):
        allowed = ", ".join(f"{{{a}}}" for a in sorted(spec.allowed)) or "none"
        raise PromptError(
            f"prompts/{name} uses unknown placeholder(s) "
            + ", ".join(f"{{{u}}}" for u in unknown)
            + f"; this file may use: {allowed}."
        )


def load_prompt_set(directory: Path) -> PromptSet:
    texts: dict[str, str] = {}
    for name in SPECS:
        path = directory / name
        try:
            texts[name] = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise PromptError(f"prompts/{name} is missing from {directory}; restore it.") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise PromptError(f"prompts/{name} cannot be read ({exc}); save it as UTF-8 text.") from None
        validate(name, texts[name])
    digest = hashlib.sha256()
    for name in sorted(texts):
        digest.update(name.encode() + b"\0" + texts[name].encode() + b"\0")
    return PromptSet(texts=texts, version=digest.hexdigest()[:12])


class PromptStore:
    """Serves the current prompt set and picks up edits without a restart.

    Each call to current() compares the files' modification stamps (a few stat calls), reloads on
    change, and keeps serving the last good set if the new one is refused.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._stamp = self._read_stamp()
        self._current = load_prompt_set(directory)  # refuse to start on a broken set
        self.last_error: str | None = None

    def _read_stamp(self) -> tuple:
        stamp = []
        for name in SPECS:
            try:
                stat = (self.directory / name).stat()
                stamp.append((name, stat.st_mtime_ns, stat.st_size))
            except OSError:
                stamp.append((name, None, None))
        return tuple(stamp)

    def current(self) -> PromptSet:
        stamp = self._read_stamp()
        if stamp == self._stamp:
            return self._current
        with self._lock:
            if stamp != self._stamp:
                self._stamp = stamp
                self._reload()
        return self._current

    def _reload(self) -> None:
        try:
            fresh = load_prompt_set(self.directory)
        except PromptError as exc:
            self.last_error = str(exc)
            log.error("prompt edit refused; the last good prompts keep serving",
                      problem=str(exc), version=self._current.version)
            return
        self.last_error = None
        if fresh.version != self._current.version:
            log.info("prompts reloaded", version=fresh.version, previous=self._current.version)
        self._current = fresh
