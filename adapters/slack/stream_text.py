"""Streamed model text -> the markdown_text of chat.appendStream, safe piece by piece.

A stream reaches Slack before the answer is finished, so its sources are not known yet: streamed
text carries no links at all (bot/answering/links.py turns every one into its label or
"(link removed)"); the sources and their links follow in the footer when the stream stops. `&`,
`<` and `>` are escaped as everywhere else (mrkdwn.escape), so `<!channel>` stays text.

A link or an address can arrive split over several deltas (`[Refund](https://ev` then
`il.example)`), so text is released only up to the last line break, or up to the last space
once a line grows past HOLD_CHARS: links and addresses never span a line, and addresses hold no
space. Each released piece is made safe on its own; a construct cut in two becomes plain text.
"""

from __future__ import annotations

from adapters.slack.mrkdwn import escape
from bot.answering.links import neutralise_links

HOLD_CHARS = 80  # the most text held back waiting for a line to end (then cut at a space)


class StreamText:
    def __init__(self) -> None:
        self.pending = ""

    def push(self, piece: str) -> str:
        """Add a delta; return the safe markdown that may be sent now ("" to wait)."""
        self.pending += piece
        cut = self.pending.rfind("\n") + 1
        if not cut and len(self.pending) > HOLD_CHARS:
            cut = max(self.pending.rfind(" "), self.pending.rfind("\t")) + 1 or len(self.pending)
        return self._release(cut)

    def flush(self) -> str:
        """Everything still held back, made safe: the stream is ending."""
        return self._release(len(self.pending))

    def _release(self, cut: int) -> str:
        ready, self.pending = self.pending[:cut], self.pending[cut:]
        return escape(neutralise_links(ready)) if ready else ""
