"""Questions in a language the knowledge base is not written in get a reply that says so."""

import pytest

from bot.answering.language import LanguageGuard
from bot.settings import SettingsError, load_settings
from bot.types import ConversationKey, Inquiry
from bot.wiring import build_bot

OTHER = {"es": "¿Puedo devolver un artículo abierto después de 30 días?",
         "de": "Kann ich einen geöffneten Artikel nach 30 Tagen zurückgeben?",
         "fr": "Puis-je retourner un article ouvert après 30 jours ?",
         "zh": "我可以在30天后退回已打开的商品吗？"}
ENGLISH = ["Can I return an opened item after 30 days?", "How do I apply for SSDI?", "ok thanks", "yes",
           "DMV", "what about Canada?", "educate me on loan forgiveness because I think I was done wrong"]


def test_other_languages_are_recognised_and_short_or_english_messages_are_not():
    guard = LanguageGuard(["en"])
    assert {code: guard.unserved_language(text) for code, text in OTHER.items()} == {c: c for c in OTHER}
    assert [guard.unserved_language(text) for text in ENGLISH] == [None] * len(ENGLISH)
    assert guard.served_names == "English"


def test_a_knowledge_base_in_several_languages_serves_them_all():
    guard = LanguageGuard(["en", "fr"])
    assert guard.unserved_language(OTHER["fr"]) is None and guard.unserved_language(OTHER["de"]) == "de"
    assert guard.served_names == "English and French"
    assert LanguageGuard([]).unserved_language(OTHER["es"]) is None  # the check is off


def test_language_codes_are_checked_in_settings():
    with pytest.raises(SettingsError, match="retrieval.languages"):
        load_settings(None, retrieval={"languages": ["English"]})


async def test_the_reply_names_the_served_languages_and_offers_a_human(sample_settings, embeddings):
    bot = build_bot(sample_settings, embeddings=embeddings, answerer=None, long_running=False)
    answer = await bot.answer(Inquiry(text=OTHER["es"], conversation=ConversationKey("t", "c", "es"), user_id="u"))
    assert answer.mode == "declined" and answer.offer_human and not answer.sources
    assert "only answer questions written in English" in answer.text and "Talk to a human" in answer.text
    english = await bot.answer(Inquiry(text=ENGLISH[0], conversation=ConversationKey("t", "c", "en"), user_id="u"))
    assert english.mode == "extractive"
