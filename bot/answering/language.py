"""Questions in a language the knowledge base is not written in: say so, and offer a person.

Retrieval in English cannot serve a question in Spanish: the keywords share nothing and the
bundled embedding model is English-only, so such a question used to be declined with the English
"no policy covers this", which tells the asker nothing. Instead the bot recognises the language
(py3langid, a bundled Naive Bayes model over character n-grams: 1 s to load once, well under a
millisecond a question) and answers with prompts/language.md, naming the languages it can serve.

Short messages are left alone: "ok", "DMV" or "gracias" carry too few letters to tell a language
by, and a wrong guess would refuse an English speaker. Only a message of several words, or of
several CJK characters, that the model places in another language with high confidence counts.
"""

from __future__ import annotations

import re
import threading
from functools import cached_property

# Candidate languages: the ones support questions commonly come in. Limiting the model to these
# keeps it from guessing rare languages for short or technical English ("How do I apply for SSDI?"
# otherwise reads as Nigerian Pidgin).
CANDIDATES = {
    "en": "English", "es": "Spanish", "fr": "French", "de": "German", "it": "Italian",
    "pt": "Portuguese", "nl": "Dutch", "sv": "Swedish", "da": "Danish", "no": "Norwegian",
    "fi": "Finnish", "pl": "Polish", "cs": "Czech", "ro": "Romanian", "hu": "Hungarian",
    "el": "Greek", "tr": "Turkish", "ru": "Russian", "uk": "Ukrainian", "ar": "Arabic",
    "he": "Hebrew", "hi": "Hindi", "zh": "Chinese", "ja": "Japanese", "ko": "Korean",
    "vi": "Vietnamese", "id": "Indonesian", "th": "Thai", "tl": "Tagalog",
}
MIN_CONFIDENCE = 0.9
MIN_WORDS = 3
MIN_CJK_CHARACTERS = 4
_WORD = re.compile(r"[^\W\d_]{2,}")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


def language_name(code: str) -> str:
    return CANDIDATES.get(code, code)


class LanguageGuard:
    """Tells which questions are written in a language outside `served` (ISO 639-1 codes)."""

    def __init__(self, served: list[str]) -> None:
        self.served = list(served)
        self._lock = threading.Lock()

    @cached_property
    def _identifier(self):
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        identifier.set_languages(sorted(set(CANDIDATES) | set(self.served)))
        return identifier

    def unserved_language(self, text: str) -> str | None:
        """The language code of a question the knowledge base cannot serve, else None."""
        if not self.served or not _long_enough(text):
            return None
        with self._lock:  # the model's lazy load and its scratch buffers are not shared safely
            language, confidence = self._identifier.classify(text)
        if language in self.served or confidence < MIN_CONFIDENCE:
            return None
        return language

    @property
    def served_names(self) -> str:
        names = [language_name(code) for code in self.served]
        return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _long_enough(text: str) -> bool:
    return len(_WORD.findall(text)) >= MIN_WORDS or len(_CJK.findall(text)) >= MIN_CJK_CHARACTERS
