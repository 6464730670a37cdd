"""The prompt files support leads edit: loading, validation, hot reload and the version hash.

A bad edit is refused with a message that names the file and the problem, and the last good set
keeps serving. Files are Markdown: lines wrapped to fit an editor are joined into paragraphs
before use (a wrapped line must not become a line break in a customer's answer). Every Answer
carries the version hash of the set that produced it (of the text as used, so re-wrapping a
paragraph changes nothing), so feedback and cache entries can be traced to the exact wording.
"""

from __future__ import annotations

import hashlib
import re
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


# Each purpose reads after "it should hold" and in the `prompts check` table.
SPECS: dict[str, PromptSpec] = {
    "system.md": _spec(set(), {"company_name"}, "the bot's role and the rules it follows"),
    "answer.md": _spec(
        {"question", "context"}, {"history", "company_name"},
        "the message sent with each question and its policy passages",
    ),
    "rewrite.md": _spec(
        {"question", "history"}, {"company_name"},
        "the instructions that turn a follow-up into a standalone question",
    ),
    "decline.md": _spec(set(), {"question", "company_name"},
                        "what the bot says when no policy covers the question"),
    "escalation.md": _spec(set(), {"question", "company_name"},
                           "what the asker is told when a person takes over"),
    "busy.md": _spec(set(), {"retry_after", "company_name"},
                     "what a user is told when they ask faster than the rate limit allows"),
    "apology.md": _spec(set(), {"company_name"},
                        "what the bot says when something failed and it could not answer"),
    "language.md": _spec(set(), {"languages", "language", "question", "company_name"},
                         "what the bot says to a question in a language the knowledge base is not written in"),
}

# Sample values for `supportbot prompts check`'s preview.
SAMPLE_VALUES = {
    "question": "Can I return an opened item after 30 days?",
    # As the chain fills them for the model (bot/answering/prompt_text.py): tagged, escaped data.
    "context": '<passages>\n<passage number="1" title="Returns and refunds" section="The 30-day return '
               'window">\nUnused items can be returned within 30 days of delivery for a full refund.'
               '\n</passage>\n</passages>',
    "history": '<history>\n<message from="customer">I bought a tent last month.</message>\n'
               '<message from="assistant">Thanks! How can I help with it?</message>\n</history>',
    "retry_after": "42",
    "languages": "English",
    "language": "German",
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


def _braces(items) -> str:
    return ", ".join(f"{{{item}}}" for item in sorted(items))


def placeholders_of(name: str, text: str, path: Path | None = None) -> set[str]:
    """The {placeholders} in a prompt text; raises PromptError for broken brace syntax."""
    where = path or f"prompts/{name}"
    try:
        fields = [field for _, field, spec, conv in string.Formatter().parse(text) if field is not None]
    except ValueError as exc:
        raise PromptError(
            f"{where}: {exc}. To write a literal brace, double it: {{{{ or }}}}."
        ) from None
    for field in fields:
        if not field.isidentifier():
            raise PromptError(
                f"{where}: '{{{field}}}' is not a placeholder. Placeholders are plain names such as "
                f"{{question}}; to write a literal brace, double it: {{{{ or }}}}."
            )
    return set(fields)


def validate(name: str, text: str, path: Path | None = None) -> None:
    """Refuse a prompt text this file cannot use; the message names the file (`path` when given)."""
    spec = SPECS[name]
    where = path or f"prompts/{name}"
    if not text.strip():
        raise PromptError(f"{where} is empty. It should hold {spec.purpose}: write that text, or "
                          "restore the file from the repository.")
    found = placeholders_of(name, text, path)
    if missing := spec.required - found:
        raise PromptError(f"{where} does not contain {_braces(missing)}. Put each of them where the "
                          "bot should fill it in (prompts/README.md says what each one holds).")
    if unknown := found - spec.allowed:
        allowed = _braces(spec.allowed) or "none"
        raise PromptError(f"{where} uses {_braces(unknown)}, which this file cannot use (it may use: "
                          f"{allowed}). Remove it, or double the braces to show it literally.")


_BLOCK_START = re.compile(r"^\s*(#{1,6}\s|[-*+]\s|\d{1,9}[.)]\s|>|\||```|~~~)")
_ONLY_PLACEHOLDER = re.compile(r"^\s*\{[A-Za-z_]\w*\}\s*$")


def join_soft_wraps(text: str) -> str:
    """Join lines wrapped inside a Markdown paragraph or list item, as a Markdown renderer would.

    Kept as they are: blank lines, headings, list items, quotes, tables, fenced code, hard breaks
    (two trailing spaces or a backslash), and a placeholder alone on its line (it is filled with
    several lines of its own, such as {history}).
    """
    lines: list[str] = []
    in_code = False
    joinable = False  # may the next line continue the last one?
    for line in text.splitlines():
        stripped = line.strip()
        fence = stripped.startswith(("```", "~~~"))
        if in_code or fence:
            lines.append(line)
            in_code = in_code != fence
            joinable = False
            continue
        starts_block = bool(_BLOCK_START.match(line)) or bool(_ONLY_PLACEHOLDER.match(line))
        if joinable and stripped and not starts_block:
            lines[-1] = lines[-1].rstrip() + " " + line.lstrip()  # keeps a hard break at its end
        else:
            lines.append(line)
        last = lines[-1]
        joinable = bool(stripped) and not (
            last.endswith(("  ", "\\")) or _ONLY_PLACEHOLDER.match(last)
            or re.match(r"^\s*(#{1,6}\s|\|)", last))
    return "\n".join(lines) + ("\n" if text.endswith("\n") else "")


def load_prompt_set(directory: Path) -> PromptSet:
    texts: dict[str, str] = {}
    for name in SPECS:
        path = directory / name
        try:
            raw = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise PromptError(f"{path} is missing. Restore it: every prompt file in prompts/README.md "
                              "must exist.") from None
        except UnicodeDecodeError as exc:
            raise PromptError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start}). "
                              "Save it as UTF-8.") from None
        except OSError as exc:
            raise PromptError(f"{path} cannot be read: {exc.strerror}.") from None
        validate(name, raw, path)
        texts[name] = join_soft_wraps(raw)
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
