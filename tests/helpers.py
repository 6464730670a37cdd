"""Small builders shared by the tests."""

from __future__ import annotations

import uuid

from bot.settings import Settings
from bot.types import Audience, ConversationKey, Inquiry


def inquiry(text: str, audience: Audience = Audience.PUBLIC, thread: str | None = None) -> Inquiry:
    return Inquiry(text=text, conversation=ConversationKey("test", "c1", thread or uuid.uuid4().hex),
                   user_id="u1", audience=audience)


def build_test_bot(settings: Settings, embeddings, answerer=None, redis=None):
    """A SupportBot on the given settings with the session's embeddings (no model reload)."""
    from bot.wiring import build_bot

    return build_bot(settings, embeddings=embeddings, answerer=answerer, redis=redis)
