"""Class 7 of issue 11: every renderer and reader of untrusted text runs in linear time.

Each function gets an attack pattern repeated to N and to 4N characters; linear work grows about
4x, quadratic work 16x. The ratio of the least CPU time of a few runs at each size is compared,
with generous slack (under 9x) and a few attempts, so a busy machine does not fail it; no
absolute time is asserted.
(40,000 characters of unclosed `<https://` once took 1.6 s in adapters/slack/convert.py.)
"""

from __future__ import annotations

import gc
import time

import pytest

from adapters.discord import render as discord_render
from adapters.discord import text as discord_text
from adapters.slack import blocks, convert, mrkdwn
from adapters.slack.refs import ThreadRef
from adapters.slack.stream_text import StreamText
from bot.answering.links import neutralise_links
from bot.types import ConversationKey, Escalation, Turn
from tests.adapters.worst_cases import SIGNER
from tests.security import attacks

SMALL = 10_000
RUNS = 3
MAX_RATIO = 9.0  # linear ~4, quadratic ~16
ATTEMPTS = 4

PATTERNS = {
    "unclosed-autolink": "<https://",
    "unclosed-bold": "**a ",
    "unclosed-link": "[a](",
    "unclosed-image": "![a",
    "heading-hashes": " #",
    "newlines": "\n",
    "lone-backticks": "`a",
    "underscores": "_a ",
    "strikes": "~~a ",
    "slack-mention-unclosed": "<@U1|",
    "link-closers": "](",
    "schemes": "http://",
    "entities": "&amp;",
    "nul-placeholders": "\x000\x00",
    "mentions": "@everyone <@1> ",
}


def _stream(text: str) -> str:
    stream = StreamText()
    out = [stream.push(text[start:start + 40]) for start in range(0, len(text), 40)]
    return "".join(out) + stream.flush()


def _escalation(text: str) -> Escalation:
    return Escalation(escalation_id="e" * 32, conversation=ConversationKey("discord", "1/2", "3"), requested_by="4",
                      question=text, transcript=[Turn("user", text), Turn("assistant", text)],
                      last_answer=attacks.answer(text), acknowledgement="ok")


FUNCTIONS = {
    "slack-plain-text": lambda text: convert.plain_text(text, "U0BOT"),
    "slack-mentions": lambda text: convert.mentions(text, "U0BOT"),
    "slack-answer-blocks": lambda text: blocks.answer_blocks(attacks.answer("# " + text),
                                                             ThreadRef("C1", "1.2", asker="U1", signer=SIGNER)),
    "slack-notification": lambda text: mrkdwn.notification(text, 3000),
    "slack-stream": _stream,
    "discord-answer": lambda text: discord_render.render_answer(attacks.answer("# " + text)),
    "discord-report": lambda text: discord_render.escalation_report(_escalation(text), 5),
    "discord-customer-text": discord_text.customer_text,
    "links": lambda text: neutralise_links(text, {attacks.SOURCE_URL}),
}


def _fastest(function, text: str) -> float:
    """The least CPU time (this process's, so other processes on a busy machine do not count)
    of a few runs, with the garbage collector paused."""
    best = float("inf")
    gc.disable()
    try:
        for _ in range(RUNS):
            started = time.process_time()
            function(text)
            best = min(best, time.process_time() - started)
    finally:
        gc.enable()
    return best


def _ratio(function, small: str, large: str) -> float:
    return _fastest(function, large) / max(_fastest(function, small), 1e-6)


@pytest.mark.parametrize("pattern", PATTERNS.values(), ids=PATTERNS.keys())
@pytest.mark.parametrize("function", FUNCTIONS.values(), ids=FUNCTIONS.keys())
def test_work_grows_linearly_with_the_text(function, pattern):
    small = (pattern * (SMALL // len(pattern) + 1))[:SMALL]
    large = (pattern * (4 * SMALL // len(pattern) + 1))[:4 * SMALL]
    function(small)  # warm up (regex compilation, caches)
    # Noise only ever makes one measurement look worse, while quadratic work is ~16x every time:
    # the best of a few attempts is the honest figure.
    ratios = []
    for _ in range(ATTEMPTS):
        ratios.append(_ratio(function, small, large))
        if ratios[-1] < MAX_RATIO:
            break
    assert min(ratios) < MAX_RATIO, f"{4 * SMALL} characters took {min(ratios):.1f}x the time of {SMALL}"
